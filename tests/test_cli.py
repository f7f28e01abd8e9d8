"""The command line and start-up: one default database for the demo and every command,
configuration errors in one line with exit code 2, argument checks, tokens only for live users,
help for every option; and the server's side of the same rough edges: a start-up warning for an
unreachable database, /readyz naming missing tables, codes for errors about the document."""

from __future__ import annotations

import logging
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from statsgraph.server import cli
from statsgraph.server.app import create_app
from statsgraph.server.settings import DEMO_SECRET
from tests.conftest import SECRET, app_client, settings_for

SETTINGS_ENV = ("DATABASE_URL", "DATABASE_READ_URL", "JWT_SECRET_KEY", "APP_TIMEZONE", "DEMO_MODE", "CORS_ORIGINS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty folder as the working directory (no .env) and none of the settings set."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `statsgraph demo --no-serve` ran with its defaults (a small database)."""
    folder = tmp_path_factory.mktemp("demo-folder")
    done = subprocess.run(
        [sys.executable, "-m", "statsgraph.server.cli", "demo", "--no-serve", "--requests", "400", "--days", "5"],
        cwd=folder, capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (folder / "demo-output.txt").write_text(done.stdout)
    return folder


def _env(**extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    return {**env, **extra}


def run_cli(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statsgraph.server.cli", *argv],
        cwd=cwd, capture_output=True, text=True, env=_env(**env), timeout=60,
    )


# --- one default database ----------------------------------------------------------------------


def test_demo_and_every_command_share_one_default_database(demo_dir: Path) -> None:
    assert (demo_dir / "statsgraph.db").exists()
    assert not (demo_dir / "statsgraph-demo.db").exists()
    done = run_cli("token", "--demo", "--user", "alice", cwd=demo_dir)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout.strip(), DEMO_SECRET, algorithms=["HS256"])
    assert claims["type"] == "access"
    assert run_cli("aggregate", cwd=demo_dir).returncode == 0


def test_token_without_the_demo_secret_says_what_to_do(demo_dir: Path) -> None:
    done = run_cli("token", "--user", "alice", cwd=demo_dir)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "JWT_SECRET_KEY" in done.stderr and "--demo" in done.stderr


def test_demo_prints_sign_in_links_and_the_cors_setting(demo_dir: Path) -> None:
    out = (demo_dir / "demo-output.txt").read_text()
    assert "http://127.0.0.1:8000/#token=ey" in out
    assert "CORS_ORIGINS='[\"http://localhost:5173\"]'" in out
    assert "statsgraph token --demo --user alice" in out
    assert "DATABASE_URL defaults to ./statsgraph.db" in out


def test_demo_elsewhere_prints_the_database_url(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = clean_env / "elsewhere.db"
    assert cli.main(["demo", "--no-serve", "--requests", "50", "--days", "2", "--database", str(target)]) == 0
    assert f"DATABASE_URL=sqlite:///{target}" in capsys.readouterr().out


def test_demo_leaves_a_foreign_database_alone(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(clean_env / "statsgraph.db") as conn:
        conn.execute("CREATE TABLE users (id TEXT)")
    assert cli.main(["demo", "--no-serve", "--rebuild"]) == 2
    assert "did not build" in capsys.readouterr().err
    with sqlite3.connect(clean_env / "statsgraph.db") as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


# --- configuration errors: one line, exit code 2 -----------------------------------------------


@pytest.mark.parametrize(("argv", "env", "says"), [
    (["aggregate"], {"DATABASE_URL": "not-a-url"}, "DATABASE_URL: it is not a database URL"),
    (["aggregate"], {"DATABASE_URL": "mysql://aether:hunter2pw@db/aether"}, "'mysql' scheme is not supported"),
    (["db", "init"], {"APP_TIMEZONE": "Mars/Olympus"}, "APP_TIMEZONE 'Mars/Olympus' is not a known"),
    (["serve"], {}, "JWT_SECRET_KEY is missing"),
    (["serve"], {"JWT_SECRET_KEY": "changeme"}, "JWT_SECRET_KEY is missing or a placeholder"),
    (["serve"], {"JWT_SECRET_KEY": "only-15-chars.."}, "JWT_SECRET_KEY is too short (15 characters; at least 16)"),
    (["token", "--user", "alice"], {"JWT_SECRET_KEY": "tiny"}, "JWT_SECRET_KEY is too short"),
    (["aggregate"], {"DB_POOL_SIZE": "lots"}, "DB_POOL_SIZE"),
], ids=["not-a-url", "mysql", "timezone", "no-secret", "placeholder", "short-secret", "token-short", "pool"])
def test_configuration_errors_are_one_line(tmp_path: Path, argv: list[str], env: dict[str, str], says: str) -> None:
    done = run_cli(*argv, cwd=tmp_path, **env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("statsgraph: ") and says in done.stderr, done.stderr
    assert "hunter2pw" not in done.stderr


def test_commands_that_read_refuse_a_missing_database_file(clean_env: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["aggregate"]) == 2
    monkeypatch.setenv("JWT_SECRET_KEY", SECRET)
    assert cli.main(["token", "--user", "alice"]) == 2
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("no database at statsgraph.db") == 3 and "statsgraph demo" in err
    assert not (clean_env / "statsgraph.db").exists()


def test_an_empty_database_file_is_named_as_such(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "statsgraph.db").touch()
    assert cli.main(["token", "--demo", "--user", "alice"]) == 2
    err = capsys.readouterr().err
    assert "lacks Aether's tables" in err and "usage" in err and "users" in err


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["aggregate", "--backfill", "-5"],
    ["aggregate", "--backfill", "0"],
    ["aggregate", "--backfill", "many"],
    ["token", "--user", "alice", "--hours", "0"],
    ["token", "--user", "alice", "--hours", "-3"],
    ["token", "--user", "alice", "--hours", "nan"],
    ["serve", "--port", "0"],
    ["serve", "--port", "70000"],
    ["serve", "--workers", "0"],
    ["demo", "--port", "-1"],
    ["demo", "--days", "0"],
    ["demo", "--requests", "0"],
], ids=lambda argv: " ".join(argv))
def test_bad_arguments_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_demo_checks_its_port_before_building(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["demo", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert not (clean_env / "statsgraph.db").exists()


def _users(db: Path, where: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(f"SELECT username FROM users WHERE {where} ORDER BY username")]


def test_no_token_for_a_deleted_or_inactive_user(demo_dir: Path) -> None:
    deleted = _users(demo_dir / "statsgraph.db", "is_deleted")
    inactive = _users(demo_dir / "statsgraph.db", "NOT is_active AND NOT is_deleted")
    assert deleted and inactive
    for name, state in [(deleted[0], "deleted"), (inactive[0], "inactive")]:
        done = run_cli("token", "--demo", "--user", name, cwd=demo_dir)
        assert done.returncode == 1 and done.stdout == ""
        assert f"user {name!r} is {state}" in done.stderr
    assert run_cli("token", "--demo", "--user", "nobody-here", cwd=demo_dir).returncode == 1


def test_every_option_has_help_naming_its_settings() -> None:
    parser = cli.build_parser()
    commands = {}
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        commands.update(action.choices)
    assert {"demo", "serve", "aggregate", "db", "token", "export-schema", "export-manifest"} <= commands.keys()
    for name, sub in commands.items():
        for action in sub._actions:
            if action.dest not in ("help", "db_command"):
                assert action.help, f"{name} {action.option_strings}: no help"
        assert sub.epilog, f"{name}: no word on the settings it reads"
    assert "DATABASE_URL" in commands["serve"].epilog and "JWT_SECRET_KEY" in commands["serve"].epilog
    assert "JWT_SECRET_KEY" in commands["token"].epilog and "DATABASE_URL" in commands["aggregate"].epilog
    demo_help = commands["demo"].format_help()
    assert "DATABASE_URL" in demo_help and "CORS_ORIGINS" in demo_help
    assert "DATABASE_URL" in parser.format_help()


# --- the server's side ----------------------------------------------------------------------


async def test_readyz_names_the_missing_tables_of_an_empty_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    async with app_client(settings_for(f"sqlite+aiosqlite:///{empty}")) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert {"usage", "users", "providers", "api_keys"} <= set(body["missingTables"])
    assert body["database"].startswith("missing Aether's tables: ")


async def test_start_up_warns_once_when_the_database_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    app = create_app(settings_for(f"postgresql://statsgraph:pw-not-logged@127.0.0.1:{port}/aether"))
    with caplog.at_level(logging.WARNING, logger="statsgraph.server"):
        async with app.router.lifespan_context(app):
            pass
    lines = [r.getMessage() for r in caplog.records if "start-up" in r.getMessage()]
    assert len(lines) == 1 and "database unreachable at start-up" in lines[0] and "serving anyway" in lines[0]
    assert "pw-not-logged" not in lines[0] and f"127.0.0.1:{port}" in lines[0]


async def test_start_up_warns_about_a_database_without_aethers_tables(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    app = create_app(settings_for(f"sqlite+aiosqlite:///{empty}"))
    with caplog.at_level(logging.WARNING, logger="statsgraph.server"):
        async with app.router.lifespan_context(app):
            pass
    assert any("lacks Aether's tables" in r.getMessage() and "usage" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{ dashboardStats { bogus } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ("{ viewer { id } viewer: dashboardStats { today { requests } } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ("{ dashboardStats {", {}, "GRAPHQL_PARSE_FAILED"),
    ("query Q($n: Int!) { recentRequests(limit: $n) { id } }", {"n": "ten"}, "BAD_USER_INPUT"),
    ("query Q($n: Int!) { recentRequests(limit: $n) { id } }", {}, "BAD_USER_INPUT"),
], ids=["unknown-field", "conflict", "syntax", "variable-type", "variable-missing"])
async def test_errors_about_the_document_carry_a_code(tmp_path: Path, query: str, variables: dict, code: str) -> None:
    async with app_client(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code] * len(body["errors"]), body
    assert "Internal error" not in response.text
