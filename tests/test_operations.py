"""The dashboard's own operations (`operations/*.graphql`, which the TypeScript client and the
persisted-query manifest are built from): each is valid against the committed SDL, and each
answers over HTTP for an admin and for a user."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import DocumentNode, OperationDefinitionNode, build_schema, parse, validate

from tests.conftest import (
    Api,
    EdgeWorld,
    app_client,
    settings_for,
    token_for,
    utc,
)

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = sorted((ROOT / "operations").glob("*.graphql"))
DASHBOARD_OPERATIONS = {"AdminDashboard", "UserDashboard", "DailyChart", "RecentActivity", "ProviderHealth"}
NOW = utc(2026, 3, 10, 15, 30)
TZ = "Asia/Shanghai"


def read(name: str) -> str:
    return (ROOT / "operations" / f"{name}.graphql").read_text()


def test_the_dashboard_operations_are_all_there() -> None:
    assert DASHBOARD_OPERATIONS <= {p.stem for p in OPERATIONS}


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: p.name)
def test_operation_is_one_named_operation_valid_against_the_schema(path: Path) -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    document: DocumentNode = parse(path.read_text())
    errors = validate(schema, document)
    assert not errors, [e.message for e in errors]
    [operation] = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    # The file is named after its operation, so a manifest entry or a generated type leads back to it.
    assert operation.name is not None and operation.name.value == path.stem


@pytest.fixture(scope="module")
def world(edge_world: EdgeWorld):  # noqa: ANN201
    return edge_world.url, edge_world.ds, edge_world.admin, edge_world.user


@pytest.fixture(scope="module")
async def apis(world):  # noqa: ANN001, ANN201
    url, _ds, admin, user = world
    settings = settings_for(url, tz=TZ)
    async with app_client(settings, NOW) as client:
        yield {"admin": Api(client, token_for(admin.id, settings)), "user": Api(client, token_for(user.id, settings))}


@pytest.mark.parametrize("role", ["admin", "user"])
async def test_user_dashboard(apis, world, role: str) -> None:  # noqa: ANN001
    _url, ds, _admin, user = world
    data = await apis[role].query(read("UserDashboard"))
    stats = data["dashboardStats"]
    assert len(data["dailyStats"]["days"]) == 7
    assert stats["allTime"]["totalTokens"] > 0
    if role == "user":
        assert stats["quota"] is not None
        assert stats["apiKeys"]["total"] == sum(1 for k in ds.api_keys if k.user_id == user.id)
    else:
        # The admin's default scope is global, which has no quota.
        assert stats["quota"] is None


async def test_admin_dashboard_for_an_admin(apis) -> None:  # noqa: ANN001
    data = await apis["admin"].query(read("AdminDashboard"))
    stats = data["dashboardStats"]
    assert stats["users"]["total"] >= stats["users"]["active"] > 0
    assert stats["systemHealth"] is not None
    assert stats["allTime"]["requests"] == stats["allTime"]["successRequests"] + stats["allTime"]["errorRequests"] > 0
    assert len(data["dailyStats"]["days"]) == 7


async def test_admin_dashboard_for_a_user_refuses_only_the_admin_fields(apis) -> None:  # noqa: ANN001
    response = await apis["user"].post(read("AdminDashboard"))
    assert response.status_code == 200, response.text
    body = response.json()
    stats = body["data"]["dashboardStats"]
    assert stats["users"] is None
    assert stats["systemHealth"] is None
    refused = sorted((tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"])
    # Admin-only fields and the operator figures (actualCost, costSavings) are refused.
    operator = [
        (("dashboardStats", "allTime", "actualCost"), "FORBIDDEN"),
        (("dashboardStats", "month", "actualCost"), "FORBIDDEN"),
        (("dashboardStats", "month", "costSavings"), "FORBIDDEN"),
    ]
    assert refused == [
        *operator, (("dashboardStats", "systemHealth"), "FORBIDDEN"), (("dashboardStats", "users"), "FORBIDDEN")
    ]
    # Everything else in the view still answers, in the user's own scope.
    assert stats["allTime"]["requests"] > 0
    assert stats["apiKeys"]["total"] >= stats["apiKeys"]["active"]
    assert len(body["data"]["dailyStats"]["days"]) == 7


@pytest.mark.parametrize("role", ["admin", "user"])
@pytest.mark.parametrize("days", [7, 30, 90])
async def test_daily_chart(apis, role: str, days: int) -> None:  # noqa: ANN001
    data = (await apis[role].query(read("DailyChart"), {"days": days}))["dailyStats"]
    assert data["period"]["days"] == days
    assert len(data["days"]) == days
    assert [d["date"] for d in data["days"]] == sorted(d["date"] for d in data["days"])
    assert data["modelSummary"], "the dataset has requests in every range"


@pytest.mark.parametrize("role", ["admin", "user"])
async def test_recent_activity(apis, world, role: str) -> None:  # noqa: ANN001
    _url, _ds, _admin, user = world
    default = (await apis[role].query(read("RecentActivity")))["recentRequests"]
    assert len(default) == 10
    assert [r["createdAt"] for r in default] == sorted((r["createdAt"] for r in default), reverse=True)
    assert len((await apis[role].query(read("RecentActivity"), {"limit": 3}))["recentRequests"]) == 3
    if role == "user":
        assert {r["user"]["id"] for r in default} == {user.id}


@pytest.mark.parametrize("role", ["admin", "user"])
async def test_provider_health(apis, role: str) -> None:  # noqa: ANN001
    providers = (await apis[role].query(read("ProviderHealth")))["providerStatus"]
    assert providers
    assert {p["state"] for p in providers} == {"ACTIVE"}
    counts = [p["requests"] for p in providers]
    assert counts == sorted(counts, reverse=True)
