"""Every bad input is the client's error: a 4xx or a coded GraphQL error, never a 500 and never
an ERROR log line."""

from __future__ import annotations

import json
import logging

import pytest

from statsgraph.server.persisted import sha256_hex
from tests.conftest import app_client, live_admin, load_dataset, settings_for, sqlite_url, token_for, utc

NOW = utc(2026, 3, 10, 15, 30)
DAYS_DOC = "query Days($d: Int!) { dailyStats(days: $d) { period { days } } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("hardening-inputs")
    url = sqlite_url(tmp_path_factory, "hardening-inputs-db")
    ds = await load_dataset(url, now=NOW, tz="Asia/Shanghai")
    manifest = tmp / "manifest.json"
    manifest.write_text(json.dumps({sha256_hex(DAYS_DOC): DAYS_DOC}))
    return url, live_admin(ds), manifest


def _no_error_lines(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("body", "[" * 3000 + "]" * 3000),
        ("get", "[" * 2000 + "]" * 2000),
        ("body", "1" * 4301),
        ("get", "1" * 5000),
    ],
    ids=["deep-body", "deep-get", "huge-body", "huge-get"],
)
async def test_json_the_decoder_cannot_take_is_a_400(world, caplog, where: str, value: str) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url)
    headers = {"Authorization": f"Bearer {token_for(admin.id, settings)}"}
    async with app_client(settings, NOW) as client:
        with caplog.at_level(logging.INFO):
            if where == "body":
                body = '{"query": %s, "variables": {"d": %s}}' % (json.dumps(DAYS_DOC), value)
                r = await client.post("/graphql", content=body, headers={**headers, "Content-Type": "application/json"})
            else:
                r = await client.get("/graphql", params={"query": DAYS_DOC, "variables": '{"d": %s}' % value}, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    _no_error_lines(caplog)


BAD_VALUES = ['"x"', "1.5", "true", "2147483648", "NaN", "null", "[7]", '{"a": 1}', "Infinity"]


@pytest.mark.parametrize("persisted_only", [False, True], ids=["open", "persisted-only"])
async def test_bad_variable_values_are_bad_user_input_naming_the_variable(world, caplog, persisted_only: bool) -> None:  # noqa: ANN001
    url, admin, manifest = world
    settings = settings_for(url, persisted_manifest=manifest, persisted_only=persisted_only)
    headers = {"Authorization": f"Bearer {token_for(admin.id, settings)}", "Content-Type": "application/json"}
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(DAYS_DOC)}}
    async with app_client(settings, NOW) as client:
        with caplog.at_level(logging.INFO):
            for value in BAD_VALUES:
                body = '{"query": %s, "variables": {"d": %s}, "extensions": %s}' % (
                    json.dumps(DAYS_DOC), value, json.dumps(ext)
                )
                r = await client.post("/graphql", content=body, headers=headers)
                assert r.status_code < 500, (value, r.text)
                errors = r.json()["errors"]
                assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (value, errors)
                assert errors[0]["extensions"]["variableName"] == "d", errors
                assert "$d" in errors[0]["message"]
            # A list where an ID goes, through GET too.
            r = await client.get(
                "/graphql",
                params={"query": "query($u: ID) { viewer { id } dashboardStats(userId: $u) { today { requests } } }",
                        "variables": '{"u": [1, 2]}'},
                headers=headers,
            )
            if not persisted_only:
                assert r.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "variableName": "u"}
            else:
                assert r.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    _no_error_lines(caplog)


async def test_a_valid_variable_still_answers(world) -> None:  # noqa: ANN001
    url, admin, _ = world
    settings = settings_for(url)
    async with app_client(settings, NOW) as client:
        r = await client.post(
            "/graphql", json={"query": DAYS_DOC, "variables": {"d": 3}},
            headers={"Authorization": f"Bearer {token_for(admin.id, settings)}"},
        )
    assert r.status_code == 200
    assert r.json()["data"] == {"dailyStats": {"period": {"days": 3}}}
