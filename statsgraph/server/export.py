"""`GET /export/usage.csv`: any `usage` report as CSV, one row per bucket × group.

The query string carries the arguments of `usage` (lists comma-separated); the report is
computed by executing the `usage` field itself with the caller's bearer token, so the scope, the
figures and the errors are the field's. Without `granularity` each group is one row over the
whole range. Operator columns (actual_cost, cost_savings) appear for admin viewers only."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from strawberry import Schema

from ..resolvers.context import Context
from .expensive_lane import ExpensiveLane

ContextFactory = Callable[[Request, Response], Awaitable[Context]]

_LATENCY = "count mean p50 p90 p95 p99 max"
DOCUMENT = """
fragment M on UsageMeasures {
  requests successRequests errorRequests errorRate inputTokens outputTokens cacheCreationTokens
  cacheReadTokens totalTokens cacheHitRate cost actualCost costSavings cacheCreationCost cacheReadCost
  responseTime { %s } firstByteTime { %s }
}
fragment G on UsageGroup {
  isOther measures { ...M }
  key { model provider { id name } apiKey { id name } user { id username } apiFormat isStream outcome statusCode }
}
query ($range: TimeRange!, $granularity: Granularity, $groupBy: [Dimension!]!, $filter: UsageFilter,
       $timeZone: String, $orderBy: UsageOrder!, $limit: Int!, $userId: ID) {
  usage(range: $range, granularity: $granularity, groupBy: $groupBy, filter: $filter, timeZone: $timeZone,
        orderBy: $orderBy, limit: $limit, userId: $userId) {
    from to granularity
    groups { ...G }
    buckets { start end groups { ...G } }
  }
}""" % (_LATENCY, _LATENCY)

_KEY_COLUMNS = {
    "MODEL": [("model", lambda k: k["model"])],
    "PROVIDER": [("provider_id", lambda k: (k["provider"] or {}).get("id")),
                 ("provider_name", lambda k: (k["provider"] or {}).get("name"))],
    "API_KEY": [("api_key_id", lambda k: (k["apiKey"] or {}).get("id")),
                ("api_key_name", lambda k: (k["apiKey"] or {}).get("name"))],
    "USER": [("user_id", lambda k: (k["user"] or {}).get("id")),
             ("username", lambda k: (k["user"] or {}).get("username"))],
    "API_FORMAT": [("api_format", lambda k: k["apiFormat"])],
    "STREAM": [("is_stream", lambda k: k["isStream"])],
    "OUTCOME": [("outcome", lambda k: k["outcome"])],
    "STATUS_CODE": [("status_code", lambda k: k["statusCode"])],
}
_MEASURES = [
    ("requests", "requests"), ("success_requests", "successRequests"), ("error_requests", "errorRequests"),
    ("error_rate", "errorRate"), ("input_tokens", "inputTokens"), ("output_tokens", "outputTokens"),
    ("cache_creation_tokens", "cacheCreationTokens"), ("cache_read_tokens", "cacheReadTokens"),
    ("total_tokens", "totalTokens"), ("cache_hit_rate", "cacheHitRate"), ("cost", "cost"),
    ("actual_cost", "actualCost"), ("cost_savings", "costSavings"),
    ("cache_creation_cost", "cacheCreationCost"), ("cache_read_cost", "cacheReadCost"),
]
_OPERATOR = {"actual_cost", "cost_savings"}
_LISTS = ("models", "providerIds", "apiKeyIds", "userIds", "apiFormats")
_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_USER_INPUT": 400, "SERVICE_UNAVAILABLE": 503}


def _split(value: str) -> list[str]:
    return [v for v in value.split(",") if v != ""]


def variables_of(params: Any) -> dict[str, Any]:
    """`usage` variables from the query string; names as in GraphQL."""
    rng = {k: params[k] for k in ("from", "to", "startDate", "endDate") if k in params}
    flt: dict[str, Any] = {k: _split(params[k]) for k in _LISTS if k in params}
    if "isStream" in params:
        flt["isStream"] = params["isStream"].lower() in ("1", "true", "yes")
    if "outcome" in params:
        flt["outcome"] = params["outcome"]
    if "statusCodes" in params:
        flt["statusCodes"] = [int(v) if v.lstrip("-").isdigit() else v for v in _split(params["statusCodes"])]
    limit = params.get("limit", "20")
    return {
        "range": rng, "granularity": params.get("granularity") or None,
        "groupBy": _split(params.get("groupBy", "")), "filter": flt or None,
        "timeZone": params.get("timeZone") or None, "orderBy": params.get("orderBy", "COST_DESC"),
        "limit": int(limit) if limit.lstrip("-").isdigit() else limit, "userId": params.get("userId") or None,
    }


def _rows(report: dict[str, Any], group_by: list[str], operator: bool) -> Iterator[list[Any]]:
    key_cols = [c for d in dict.fromkeys(group_by) for c in _KEY_COLUMNS.get(d, [])]
    measures = [(n, f) for n, f in _MEASURES if operator or n not in _OPERATOR]
    latency = [(f"{kind}_{part}", kind_field, part) for kind, kind_field in (
        ("response_time", "responseTime"), ("first_byte_time", "firstByteTime")) for part in _LATENCY.split()]
    yield ["bucket_start", "bucket_end", "is_other", *(n for n, _ in key_cols), *(n for n, _ in measures),
           *(n for n, _, _ in latency)]
    buckets = report["buckets"] or [{"start": report["from"], "end": report["to"], "groups": report["groups"]}]
    for b in buckets:
        for g in b["groups"]:
            m = g["measures"]
            yield [b["start"], b["end"], g["isOther"], *(get(g["key"]) for _, get in key_cols),
                   *(m[f] for _, f in measures), *(m[kf][p] for _, kf, p in latency)]


def _csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def make_export_router(lane: ExpensiveLane, schema: Schema, context: ContextFactory) -> APIRouter:
    router = APIRouter()

    @router.get("/export/usage.csv", response_model=None)
    async def usage_csv(request: Request, response: Response) -> Response:
        ctx = await context(request, response)
        variables = variables_of(request.query_params)
        result = await lane.execute(schema, DOCUMENT, variables=variables, context=ctx)
        errors = result.errors or []
        operator_only = all(e.path and e.path[-1] in ("actualCost", "costSavings") for e in errors)
        if result.data is None or not operator_only:
            codes = [(e.extensions or {}).get("code", "BAD_USER_INPUT") for e in errors]
            status = next((_STATUS[c] for c in codes if c in _STATUS), 400)
            return JSONResponse({"errors": [{"message": e.message, "code": c} for e, c in zip(errors, codes)]},
                                status_code=status, headers=dict(response.headers))
        operator = ctx.viewer is not None and ctx.viewer.is_admin
        lines = _csv_lines(_rows(result.data["usage"], variables["groupBy"], operator=operator))
        headers = {**dict(response.headers), "Content-Disposition": 'attachment; filename="usage.csv"'}
        return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)

    return router


__all__ = ["DOCUMENT", "make_export_router", "variables_of"]
