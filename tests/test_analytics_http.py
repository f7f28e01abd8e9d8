"""`usage` over real HTTP equals the independent reference (tests/reference_analytics.py) for
every dimension, granularity, range kind, time zone, filter, order, limit and role, on SQLite and
PostgreSQL; every answer adds up."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from statsgraph.core.calendar import BusinessCalendar
from statsgraph.db.aggregator import aggregate, serialise_sqlite_writers
from statsgraph.db.engine import make_engine
from statsgraph.db.rollup_hourly import roll_up_hours
from statsgraph.db.rollup_tables import ROLLUP_TABLES, RollupHour
from tests import reference_analytics as ref
from tests.conftest import (
    UNPRICED,
    Api,
    app_client,
    fresh_database_url,
    live_admin,
    live_users,
    load_dataset,
    settings_for,
    token_for,
    utc,
)
from tests.documents import assert_same

NOW = utc(2026, 3, 10, 15, 30)  # New York changed to summer time on 2026-03-08
TZ = "Asia/Shanghai"
DIMENSIONS = ["MODEL", "PROVIDER", "API_KEY", "USER", "API_FORMAT", "STREAM", "OUTCOME", "STATUS_CODE"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    url = fresh_database_url(request.param, request, tmp_path_factory)
    ds = await load_dataset(url, now=NOW, tz=TZ)
    return url, ds


# never: no rollup; complete: every closed hour the aggregator may roll up; midday: rolled up to
# the middle of today's business day, the rest of today raw.
STATES = ("never", "complete", "midday")


async def set_rollups(url: str, state: str) -> int:
    """Put the hourly rollups in a state; the number of rolled-up hours."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        serialise_sqlite_writers(engine)
    try:
        async with engine.begin() as conn:
            for table in reversed(ROLLUP_TABLES):
                await conn.execute(delete(table))
        if state == "complete":
            await aggregate(engine, calendar=BusinessCalendar(TZ, clock=lambda: NOW))
        elif state == "midday":
            noon = local_day_start(today(TZ), TZ) + timedelta(hours=12, minutes=7)
            async with engine.connect() as conn:
                await roll_up_hours(conn, now=noon)
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(RollupHour))).scalar() or 0)
    finally:
        await engine.dispose()


def local_day_start(day: date, tz: str) -> datetime:
    return ref.local_midnight(day, ref.ZoneInfo(tz))


def today(tz: str) -> date:
    return NOW.astimezone(ref.ZoneInfo(tz)).date()


class Case:
    def __init__(self, *, start: datetime | None = None, end: datetime | None = None,
                 start_date: date | None = None, end_date: date | None = None, granularity: str | None = None,
                 group_by: list[str] | None = None, flt: dict | None = None, tz: str | None = None,
                 order: str = "COST_DESC", limit: int = 20) -> None:
        self.start, self.end, self.start_date, self.end_date = start, end, start_date, end_date
        self.granularity, self.group_by, self.flt, self.tz = granularity, group_by or [], flt, tz
        self.order, self.limit = order, limit

    def variables(self, user_id: str | None) -> dict:
        rng: dict = {}
        if self.start is not None:
            rng["from"] = self.start.isoformat()
        if self.end is not None:
            rng["to"] = self.end.isoformat()
        if self.start_date is not None:
            rng["startDate"] = self.start_date.isoformat()
        if self.end_date is not None:
            rng["endDate"] = self.end_date.isoformat()
        return {"range": rng, "granularity": self.granularity, "groupBy": self.group_by, "filter": self.flt,
                "timeZone": self.tz, "orderBy": self.order, "limit": self.limit, "userId": user_id}

    def window(self) -> tuple[datetime, datetime]:
        tz = self.tz or TZ
        start = self.start or local_day_start(self.start_date, tz)  # type: ignore[arg-type]
        if self.end is not None:
            end = self.end
        elif self.end_date is not None:
            end = local_day_start(self.end_date + timedelta(days=1), tz)
        elif self.start_date is not None:
            end = local_day_start(today(tz) + timedelta(days=1), tz)
        else:
            end = NOW
        return start, end


async def check(api: Api, ds, case: Case, *, scope_user: str | None, arg_user: str | None, operator: bool) -> dict:  # noqa: ANN001
    got = (await api.query(ref.document(operator=operator), case.variables(arg_user)))["usage"]
    start, end = case.window()
    want = ref.usage_report(
        ds, start=start, end=end, granularity=case.granularity, tz=case.tz or TZ, group_by=case.group_by,
        flt=case.flt, order=case.order, limit=case.limit, user_id=scope_user, operator=operator,
    )
    assert_same(got, want, f"usage{case.variables(arg_user)}")
    ref.assert_additive(got)
    return got


def cases(ds) -> list[Case]:  # noqa: ANN001
    t = today(TZ)
    admin = live_admin(ds)
    alice = next(u for u in ds.users if u.username == "alice")
    alice_key = next(k.id for k in ds.api_keys if k.user_id == alice.id)
    openai = next(p.id for p in ds.providers if p.name == "openai")
    out = [Case(start_date=t - timedelta(days=29), granularity="DAY")]
    out += [Case(start_date=t - timedelta(days=13), granularity="DAY", group_by=[d]) for d in DIMENSIONS]
    out += [
        Case(start=NOW - timedelta(days=2), granularity="HOUR", group_by=["API_KEY", "MODEL"]),
        Case(start_date=t - timedelta(days=60), granularity="WEEK", group_by=["PROVIDER", "OUTCOME"], limit=3),
        Case(start_date=t - timedelta(days=125), end_date=t - timedelta(days=1), granularity="MONTH",
             group_by=["USER", "STREAM", "STATUS_CODE"], limit=100),
        # instants that are not on any hour, and no granularity
        Case(start=utc(2026, 3, 1, 7, 13, 5), end=utc(2026, 3, 4, 19, 47), group_by=["MODEL"], limit=1),
        Case(start=utc(2026, 3, 8, 3, 17), end=utc(2026, 3, 9, 2, 1), granularity="HOUR", group_by=["USER"]),
        # New York across its DST change (a 23-hour day), by day and by hour
        Case(start_date=date(2026, 3, 1), end_date=date(2026, 3, 10), granularity="DAY", tz="America/New_York",
             group_by=["MODEL"]),
        Case(start_date=date(2026, 3, 7), end_date=date(2026, 3, 9), granularity="HOUR", tz="America/New_York"),
        Case(start_date=date(2025, 10, 27), end_date=date(2025, 11, 5), granularity="DAY", tz="America/New_York",
             group_by=["OUTCOME"]),
        # a half-hour zone: midnights are not whole UTC hours
        Case(start_date=t - timedelta(days=20), granularity="DAY", tz="Asia/Kolkata", group_by=["PROVIDER"]),
        Case(start_date=t - timedelta(days=1), granularity="HOUR", tz="Asia/Kolkata", group_by=["API_FORMAT"]),
        Case(start_date=t - timedelta(days=70), granularity="WEEK", tz="Asia/Kolkata"),
        # today's open day
        Case(start_date=t, granularity="HOUR", group_by=["MODEL"]),
        Case(start_date=t, group_by=["STATUS_CODE"], order="KEY_ASC"),
    ]
    month = t - timedelta(days=30)
    filters = [
        {"models": ["gpt-4o", "claude-sonnet-4"]}, {"providerIds": [openai]}, {"apiKeyIds": [alice_key]},
        {"userIds": [alice.id, admin.id]}, {"apiFormats": ["claude"]}, {"isStream": True}, {"isStream": False},
        {"outcome": "ERROR"}, {"outcome": "SUCCESS"}, {"statusCodes": [429, 500]}, {"models": []},
        {"models": ["gpt-4o-mini"], "isStream": True, "outcome": "SUCCESS"},
    ]
    out += [Case(start_date=month, granularity="WEEK", group_by=["MODEL"], flt=f) for f in filters]
    for order in ("COST_DESC", "REQUESTS_DESC", "TOKENS_DESC", "KEY_ASC"):
        for limit in (1, 3, 100):
            out.append(Case(start_date=month, granularity="DAY", group_by=["MODEL", "PROVIDER"], order=order,
                            limit=limit))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("state", STATES)
async def test_admin_answers_match_the_reference(world, state: str) -> None:  # noqa: ANN001
    url, ds = world
    hours = await set_rollups(url, state)
    assert (hours > 1000) == (state != "never"), hours
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    async with app_client(settings, NOW) as client:
        api = Api(client, token_for(live_admin(ds).id, settings))
        for case in cases(ds):
            await check(api, ds, case, scope_user=None, arg_user=None, operator=True)


@pytest.mark.parametrize("state", ["complete", "never"])
async def test_admin_as_user_and_user_match_the_reference(world, state: str) -> None:  # noqa: ANN001
    url, ds = world
    await set_rollups(url, state)
    settings = settings_for(url, tz=TZ, max_query_cost=UNPRICED)
    alice = next(u for u in ds.users if u.username == "alice")
    t = today(TZ)
    selected = [
        Case(start_date=t - timedelta(days=29), granularity="DAY", group_by=["MODEL"]),
        Case(start_date=t - timedelta(days=6), granularity="HOUR", group_by=["API_KEY", "OUTCOME"]),
        Case(start_date=t - timedelta(days=60), granularity="WEEK", group_by=["USER", "PROVIDER"], limit=3),
        Case(start_date=t - timedelta(days=20), granularity="DAY", tz="Asia/Kolkata", group_by=["STREAM"]),
        Case(start_date=t, granularity="HOUR", group_by=["STATUS_CODE"], order="REQUESTS_DESC"),
        # someone else's key matches nothing; their own id in userIds is allowed
        Case(start_date=t - timedelta(days=29), group_by=["API_KEY"],
             flt={"apiKeyIds": [k.id for k in ds.api_keys if k.user_id != alice.id]}),
        Case(start_date=t - timedelta(days=29), group_by=["USER"], flt={"userIds": [alice.id]}),
    ]
    async with app_client(settings, NOW) as client:
        as_admin = Api(client, token_for(live_admin(ds).id, settings))
        as_alice = Api(client, token_for(alice.id, settings))
        for case in selected:
            await check(as_admin, ds, case, scope_user=alice.id, arg_user=alice.id, operator=True)
            await check(as_alice, ds, case, scope_user=alice.id, arg_user=None, operator=False)
            await check(as_alice, ds, case, scope_user=alice.id, arg_user=alice.id, operator=False)
    assert live_users(ds)
