"""Aether's four REST dashboard endpoints, for migrating without a frontend change.

Each answers with the seed's JSON shape (pre-formatted cards included, as Aether's frontend
shows them verbatim) by executing a GraphQL operation on the same schema: no figure has a second
implementation here, only formatting. Where the seed was wrong the figures are the right ones;
the README lists each difference."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from strawberry import Schema

from ..resolvers.context import Context
from .expensive_lane import ExpensiveLane

ContextFactory = Callable[[Request, Response], Awaitable[Context]]

# Operator figures (actualCost, costSavings) are asked for in the admin payload only: a user's
# token never reads them.
_USER_TOTALS = (
    "requests successRequests errorRequests inputTokens outputTokens cacheCreationTokens "
    "cacheReadTokens totalTokens cacheHitRate cost cacheCreationCost cacheReadCost"
)
_TOTALS = _USER_TOTALS + " actualCost costSavings"
ADMIN_STATS = f"""
query LegacyAdminStats {{ dashboardStats {{
  allTime {{ {_TOTALS} }} today {{ {_TOTALS} }} yesterday {{ {_TOTALS} }} month {{ {_TOTALS} }}
  apiKeys {{ total active }} users {{ total active }}
  systemHealth {{ avgResponseTime errorRate errorRequests fallbackCount totalRequests }}
}} }}"""
USER_STATS = f"""
query LegacyUserStats {{ dashboardStats {{
  allTime {{ {_USER_TOTALS} }} today {{ {_USER_TOTALS} }} yesterday {{ requests }} month {{ {_USER_TOTALS} }}
  apiKeys {{ total active }} quota {{ limitUsd usedUsd usedPercent }}
}} }}"""
VIEWER = "query LegacyViewer { viewer { id role } }"
RECENT = """query LegacyRecent($limit: Int!) { recentRequests(limit: $limit) {
  id createdAt model isStream totalTokens user { username } } }"""
PROVIDERS = "query LegacyProviders { providerStatus { name state requests } }"
DAILY = """query LegacyDaily($days: Int!) { dailyStats(days: $days) {
  period { startDate endDate days }
  days { date requests totalTokens cost avgResponseTime uniqueModels uniqueProviders fallbackCount
         modelBreakdown { model requests totalTokens cost } }
  modelSummary { model requests totalTokens cost avgResponseTime costPerRequest tokensPerRequest }
} }"""

LEGACY_DOCUMENTS = (ADMIN_STATS, USER_STATS, VIEWER, RECENT, PROVIDERS, DAILY)

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_USER_INPUT": 422, "SERVICE_UNAVAILABLE": 503}


class LegacyError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def format_tokens(num: int) -> str:
    """Aether's K/M token formatting (the frontend shows these strings as they are)."""
    if num < 1000:
        return str(num)
    if num < 1_000_000:
        k = num / 1000
        return f"{round(k)}K" if k >= 100 else f"{k:.1f}K" if k >= 10 else f"{k:.2f}K"
    m = num / 1_000_000
    return f"{round(m)}M" if m >= 100 else f"{m:.1f}M" if m >= 10 else f"{m:.2f}M"


def _change_type(today: float, yesterday: float) -> str:
    return "increase" if today > yesterday else "decrease" if today < yesterday else "neutral"


def _cache_tokens(t: dict[str, Any]) -> int:
    return t["cacheCreationTokens"] + t["cacheReadTokens"]


def admin_payload(d: dict[str, Any]) -> dict[str, Any]:
    a, t, y, m = d["allTime"], d["today"], d["yesterday"], d["month"]
    health = d["systemHealth"]
    return {
        "stats": [
            {
                "name": "总请求",
                "value": f"{a['requests']:,}",
                "subValue": f"有效 {a['successRequests']:,} / 异常 {a['errorRequests']:,}",
                "change": f"+{t['requests']}" if t["requests"] > y["requests"] else str(t["requests"]),
                "changeType": _change_type(t["requests"], y["requests"]),
                "icon": "Activity",
            },
            {
                "name": "总费用",
                "value": f"${a['cost']:.2f}",
                "subValue": f"倍率后 ${a['actualCost']:.2f}",
                "change": f"+${t['cost']:.2f}" if t["cost"] > y["cost"] else f"${t['cost']:.2f}",
                "changeType": _change_type(t["cost"], y["cost"]),
                "icon": "DollarSign",
            },
            {
                "name": "总Token",
                "value": format_tokens(a["totalTokens"]),
                "subValue": f"输入 {format_tokens(a['inputTokens'])} / 输出 {format_tokens(a['outputTokens'])}",
                "change": (f"+{format_tokens(t['totalTokens'])}" if t["totalTokens"] > y["totalTokens"]
                           else format_tokens(t["totalTokens"])),
                "changeType": _change_type(t["totalTokens"], y["totalTokens"]),
                "icon": "Hash",
            },
            {
                "name": "总缓存",
                "value": format_tokens(_cache_tokens(a)),
                "subValue": (f"创建 {format_tokens(a['cacheCreationTokens'])} / "
                             f"读取 {format_tokens(a['cacheReadTokens'])}"),
                "change": (f"+{format_tokens(_cache_tokens(t))}" if _cache_tokens(t) > _cache_tokens(y)
                           else format_tokens(_cache_tokens(t))),
                "changeType": _change_type(_cache_tokens(t), _cache_tokens(y)),
                "extraBadge": f"命中率 {round(a['cacheHitRate'], 1)}%",
                "icon": "Database",
            },
        ],
        "today": {
            "requests": t["requests"], "cost": t["cost"], "actual_cost": t["actualCost"],
            "tokens": t["totalTokens"], "cache_creation_tokens": t["cacheCreationTokens"],
            "cache_read_tokens": t["cacheReadTokens"],
        },
        "api_keys": d["apiKeys"],
        "tokens": {"month": m["totalTokens"]},
        "token_breakdown": {
            "input": a["inputTokens"], "output": a["outputTokens"],
            "cache_creation": a["cacheCreationTokens"], "cache_read": a["cacheReadTokens"],
        },
        "system_health": {
            "avg_response_time": round(health["avgResponseTime"], 2),
            "error_rate": round(health["errorRate"], 2),
            "error_requests": health["errorRequests"],
            "fallback_count": health["fallbackCount"],
            "total_requests": health["totalRequests"],
        },
        "cost_stats": {
            "total_cost": round(m["cost"], 4),
            "total_actual_cost": round(m["actualCost"], 4),
            "cost_savings": round(m["costSavings"], 4),
        },
        "cache_stats": {
            "cache_creation_tokens": m["cacheCreationTokens"],
            "cache_read_tokens": m["cacheReadTokens"],
            "cache_creation_cost": round(m["cacheCreationCost"], 4),
            "cache_read_cost": round(m["cacheReadCost"], 4),
            "total_cache_tokens": _cache_tokens(m),
        },
        "users": d["users"],
    }


def user_payload(d: dict[str, Any]) -> dict[str, Any]:
    a, t, y, m, q, keys = d["allTime"], d["today"], d["yesterday"], d["month"], d["quota"], d["apiKeys"]
    used = f"已用 ${q['usedUsd']:.2f}"
    if q["limitUsd"] is None:
        quota_value, quota_high = "无限制", False
    elif q["limitUsd"] > 0:
        quota_value, quota_high = f"${q['limitUsd']:.0f}", min(100, int(q["usedPercent"])) > 80
    else:
        quota_value, quota_high = "$0", True
    return {
        "stats": [
            {"name": "API 密钥", "value": f"{keys['active']}/{keys['total']}", "icon": "Key"},
            {
                "name": "本月请求",
                "value": f"{m['requests']:,}",
                "change": f"今日 {t['requests']}",
                "changeType": _change_type(t["requests"], y["requests"]),
                "icon": "Activity",
            },
            {
                "name": "配额使用",
                "value": quota_value,
                "change": used,
                "changeType": "increase" if quota_high else "neutral",
                "icon": "TrendingUp",
            },
            {
                "name": "总Token",
                "value": format_tokens(a["totalTokens"]),
                "subValue": f"输入 {format_tokens(a['inputTokens'])} / 输出 {format_tokens(a['outputTokens'])}",
                "icon": "Hash",
            },
        ],
        "today": {
            "requests": t["requests"], "cost": t["cost"], "tokens": t["totalTokens"],
            "cache_creation_tokens": t["cacheCreationTokens"], "cache_read_tokens": t["cacheReadTokens"],
        },
        "token_breakdown": {
            "input": a["inputTokens"], "output": a["outputTokens"],
            "cache_creation": a["cacheCreationTokens"], "cache_read": a["cacheReadTokens"],
        },
        "cache_stats": {
            "cache_creation_tokens": m["cacheCreationTokens"],
            "cache_read_tokens": m["cacheReadTokens"],
            "cache_hit_rate": round(m["cacheHitRate"], 1),
            "total_cache_tokens": _cache_tokens(m),
        },
        "monthly_cost": m["cost"],
    }


def make_legacy_router(lane: ExpensiveLane, schema: Schema, context: ContextFactory) -> APIRouter:
    router = APIRouter(prefix="/api/dashboard", tags=["legacy REST"])

    async def run(request: Request, response: Response, document: str, variables: dict | None = None) -> dict:
        ctx = await context(request, response)
        result = await lane.execute(schema, document, variables=variables, context=ctx)
        if result.errors:
            codes = [(e.extensions or {}).get("code", "INTERNAL_SERVER_ERROR") for e in result.errors]
            first = result.errors[codes.index(next((c for c in codes if c in _STATUS), codes[0]))]
            status = _STATUS.get((first.extensions or {}).get("code", ""), 500)
            raise LegacyError(status, first.message)
        assert result.data is not None
        return result.data

    @router.get("/stats")
    async def stats(request: Request, response: Response) -> Any:
        try:
            viewer = (await run(request, response, VIEWER))["viewer"]
            if viewer["role"] == "ADMIN":
                return admin_payload((await run(request, response, ADMIN_STATS))["dashboardStats"])
            return user_payload((await run(request, response, USER_STATS))["dashboardStats"])
        except LegacyError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @router.get("/recent-requests")
    async def recent(request: Request, response: Response, limit: int = Query(10, ge=1, le=100)) -> Any:
        try:
            rows = (await run(request, response, RECENT, {"limit": limit}))["recentRequests"]
        except LegacyError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return {
            "requests": [
                {
                    "id": r["id"],
                    "user": r["user"]["username"] if r["user"] else "Unknown",
                    "model": r["model"] or "N/A",
                    "tokens": r["totalTokens"],
                    "time": _hhmm(r["createdAt"], request),
                    "is_stream": r["isStream"],
                }
                for r in rows
            ]
        }

    @router.get("/provider-status")
    async def providers(request: Request, response: Response) -> Any:
        try:
            rows = (await run(request, response, PROVIDERS))["providerStatus"]
        except LegacyError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return {
            "providers": [
                {"name": r["name"], "status": r["state"].lower(), "requests": r["requests"]} for r in rows
            ]
        }

    @router.get("/daily-stats")
    async def daily(request: Request, response: Response, days: int = Query(7, ge=1, le=366)) -> Any:
        try:
            report = (await run(request, response, DAILY, {"days": days}))["dailyStats"]
        except LegacyError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return {
            "daily_stats": [
                {
                    "date": d["date"], "requests": d["requests"], "tokens": d["totalTokens"],
                    "cost": d["cost"], "avg_response_time": d["avgResponseTime"],
                    "unique_models": d["uniqueModels"], "unique_providers": d["uniqueProviders"],
                    "fallback_count": d["fallbackCount"],
                    "model_breakdown": [
                        {"model": b["model"], "requests": b["requests"], "tokens": b["totalTokens"], "cost": b["cost"]}
                        for b in d["modelBreakdown"]
                    ],
                }
                for d in report["days"]
            ],
            "model_summary": [
                {
                    "model": s["model"], "requests": s["requests"], "tokens": s["totalTokens"],
                    "cost": s["cost"], "avg_response_time": s["avgResponseTime"],
                    "cost_per_request": s["costPerRequest"], "tokens_per_request": s["tokensPerRequest"],
                }
                for s in report["modelSummary"]
            ],
            "period": {
                "start_date": report["period"]["startDate"],
                "end_date": report["period"]["endDate"],
                "days": report["period"]["days"],
            },
        }

    return router


def _hhmm(created_at: str, request: Request) -> str:
    from datetime import datetime

    tz = request.app.state.runtime.calendar().tz
    return datetime.fromisoformat(created_at).astimezone(tz).strftime("%H:%M")


__all__ = ["LEGACY_DOCUMENTS", "admin_payload", "format_tokens", "make_legacy_router", "user_payload"]
