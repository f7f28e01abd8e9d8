"""The dashboard (`/`) and GraphiQL (`/graphql`) in a real headless Chromium, driven over the
DevTools protocol: the app runs under uvicorn on a free port over a SQLite database of generated
demo traffic; the figures each page shows are compared with the API's answers to the same
operations (formatted as the page formats them), every request the browser makes is recorded
and must stay on the server's origin, and the pages must run under their Content-Security-Policy
without a violation. Screenshots go to test-artifacts/ (STATSGRAPH_ARTIFACTS to change it).

Needs Debian's `chromium` (`.ci/run` installs it); without it the tests skip, or fail under
STATSGRAPH_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from statsgraph.db.engine import make_engine, make_session_factory
from statsgraph.db.models import User
from statsgraph.db.setup import init_database
from statsgraph.demo.generator import generate_demo
from statsgraph.server.app import create_app
from statsgraph.server.auth import mint_token
from statsgraph.web import CONTENT_SECURITY_POLICY, STATIC
from tests.conftest import app_client, settings_for
from tests.servers import free_port, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "operations"
ARTIFACTS = Path(os.environ.get("STATSGRAPH_ARTIFACTS", ROOT / "test-artifacts"))
TIMEOUT = 60.0  # generous: CI machines may be busy

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1280,1000",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


# ---------------------------------------------------------------------------------------------
# A small DevTools-protocol client: one browser, pages as flattened target sessions.


class CdpError(RuntimeError):
    pass


class Browser:
    def __init__(self, exe: str) -> None:
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="statsgraph-chromium-"))
        self.log = open(self.profile.parent / f"{self.profile.name}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (active.exists() and len(active.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise CdpError(f"chromium did not start (exit {self.proc.returncode})")
            time.sleep(0.05)
        port, path = active.read_text().split()[:2]
        # As a context manager: the form every websockets version accepts without a warning.
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=TIMEOUT)
        )
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        if "id" not in message:
            self.events.append(message)
        return message

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        call: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            call["sessionId"] = session
        self.ws.send(json.dumps(call))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message is not None and message.get("id") == self._next_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise CdpError(f"{method}: no answer in {TIMEOUT}s")

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._receive(left)

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session)

    def close(self) -> None:
        try:
            self._stack.close()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# Installed before any page script runs: the page's CSP violations, as the page sees them.
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || ''));
});
"""


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method: str, params: dict | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events if e.get("sessionId") == self.session and e["method"] == method]

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [e["request"] for e in self._events("Network.requestWillBeSent")]

    @property
    def problems(self) -> list[str]:
        """Uncaught exceptions and console or log errors (CSP refusals are logged as errors)."""
        out = [json.dumps(e["exceptionDetails"])[:500] for e in self._events("Runtime.exceptionThrown")]
        out += [e["entry"]["text"] for e in self._events("Log.entryAdded") if e["entry"]["level"] == "error"]
        out += [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"])
            for e in self._events("Runtime.consoleAPICalled") if e["type"] == "error"
        ]
        return out

    def goto(self, url: str) -> None:
        before = len(self._events("Page.loadEventFired"))
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + TIMEOUT
        while len(self._events("Page.loadEventFired")) == before:
            if time.monotonic() > deadline:
                raise CdpError(f"{url} did not load in {TIMEOUT}s")
            self.browser.pump(0.05)

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; page problems: {self.problems}")
            self.browser.pump(0.1)

    def screenshot(self, path: Path) -> None:
        """The whole page: the viewport is made as tall as the page first, and the charts are
        given time to redraw at that size (resizing clears a canvas until its next frame)."""
        height = max(int(self.eval("Math.ceil(document.documentElement.scrollHeight)")), 600)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.browser.pump(0.5)
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        shot = self.send("Page.captureScreenshot", {"format": "png"})
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


# ---------------------------------------------------------------------------------------------
# The page's number formats, again in Python (client/src/dashboard.ts and client/src/app/main.ts).
# JavaScript's toFixed rounds the exact binary value half up; Decimal(float) is exact.


def to_fixed(x: float, digits: int) -> str:
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def fmt_tokens(n: float) -> str:
    if n < 1000:
        return str(n)
    scaled, unit = (n / 1000, "K") if n < 1_000_000 else (n / 1_000_000, "M")
    digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
    return f"{to_fixed(scaled, digits)}{unit}"


FORMATS = {
    "count": lambda n: f"{n:,}",
    "usd": lambda n: f"${to_fixed(n, 2)}",
    "usd4": lambda n: f"${to_fixed(n, 4)}",
    "tokens": fmt_tokens,
    "percent": lambda n: f"{to_fixed(n, 1)}%",
    "percent2": lambda n: f"{to_fixed(n, 2)}%",
    "seconds": lambda n: f"{to_fixed(n, 2)} s",
}


def expected_figure(stats: dict, path: str, fmt: str) -> str:
    value: Any = stats
    for part in path.split("."):
        value = value[part]
    if value is None:
        return "unlimited" if path == "quota.limitUsd" else "—"
    return FORMATS[fmt](value)


# ---------------------------------------------------------------------------------------------
# Fixtures: the database, the server, the browser.


class LiveServer:
    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        skip_or_fail("chromium not found on PATH or at /usr/bin/chromium; install Debian's chromium or run .ci/run")
    assert exe is not None
    return exe


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict[str, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}"
    settings = settings_for(url)

    async def build() -> dict[str, str]:
        engine = make_engine(url)
        try:
            await init_database(engine)
            await generate_demo(engine, requests=4_000, days=90, seed=5, tz=settings.app_timezone)
            async with make_session_factory(engine)() as session:
                rows = await session.execute(select(User.username, User.id))
                return dict(rows.all())
        finally:
            await engine.dispose()

    ids = asyncio.run(build())
    tokens = {
        "admin": mint_token(ids["admin"], settings=settings, ttl=timedelta(hours=1)),
        "user": mint_token(ids["alice"], settings=settings, ttl=timedelta(hours=1)),
    }
    # Everything the server logs while the browsers work, access lines included.
    records = LogRecords()
    access = logging.getLogger("uvicorn.access")
    old_level = access.level
    access.setLevel(logging.INFO)
    logging.getLogger().addHandler(records)
    try:
        with LiveServer(create_app(settings), free_port()) as live:
            browser = Browser(chromium)
            try:
                yield {"origin": live.origin, "tokens": tokens, "browser": browser, "logs": records}
            finally:
                browser.close()
    finally:
        logging.getLogger().removeHandler(records)
        access.setLevel(old_level)


class LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def api(world: dict[str, Any], role: str, operation: str, variables: dict | None = None) -> dict:
    response = httpx.post(
        f"{world['origin']}/graphql",
        json={"query": (OPERATIONS / f"{operation}.graphql").read_text(), "variables": variables or {}},
        headers={"Authorization": f"Bearer {world['tokens'][role]}"},
        timeout=TIMEOUT,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def assert_same_origin(page: Page, origin: str, tokens: dict[str, str]) -> None:
    urls = [r["url"] for r in page.requests]
    assert urls, "no request recorded"
    foreign = [u for u in urls if not (u.startswith(origin + "/") or u.startswith(("data:", "blob:", "about:")))]
    assert foreign == [], f"requests that left {origin}: {foreign}"
    # The sign-in link's fragment never reaches the server; the token travels in a header only.
    leaked = [u for u in urls for t in tokens.values() if t in u]
    assert leaked == [], leaked


def assert_no_problems(page: Page) -> None:
    assert page.eval("window.__csp") == [], "Content-Security-Policy violations"
    assert page.problems == []


def figures(page: Page, scope: str = "#overview") -> dict[str, tuple[str, str]]:
    return {
        path: (fmt, text)
        for path, fmt, text in page.eval(
            f"[...document.querySelectorAll('{scope} [data-figure]')]"
            ".map(e => [e.dataset.figure, e.dataset.format, e.textContent])"
        )
    }


def table_rows(page: Page, container: str) -> list[list[str]]:
    return page.eval(
        f"[...document.querySelectorAll('#{container} tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.textContent))"
    )


def check_chart(page: Page, world: dict[str, Any], role: str, days: int) -> None:
    page.wait_for(f"document.getElementById('overview').dataset.chartLoaded === '{days}'", f"the {days}-day chart")
    chart = api(world, role, "DailyChart", {"days": days})["dailyStats"]
    requests = sum(d["requests"] for d in chart["days"])
    cost = 0.0
    for d in chart["days"]:
        cost += d["cost"]
    shown = page.eval("[...document.querySelectorAll('#trend-summary [data-total]')].map(e => e.textContent)")
    assert shown == [FORMATS["count"](requests), FORMATS["usd"](cost)]
    assert len(chart["days"]) == days
    models = [r[0] for r in table_rows(page, "model-table")]
    assert models == [m["model"] for m in chart["modelSummary"]]
    # Both charts drew something.
    assert page.eval("['trend-chart','model-chart'].every(id => document.getElementById(id).width > 0)")


def check_overview(page: Page, world: dict[str, Any], role: str) -> None:
    operation = "AdminDashboard" if role == "admin" else "UserDashboard"
    stats = api(world, role, operation)["dashboardStats"]
    shown = figures(page)
    must = {"today.requests", "today.cost", "month.cost", "allTime.totalTokens"}
    must |= {"systemHealth.errorRate", "systemHealth.avgResponseTime"} if role == "admin" else {"quota.usedUsd"}
    assert must <= shown.keys(), shown.keys()
    for path, (fmt, text) in shown.items():
        assert text == expected_figure(stats, path, fmt), (path, text, stats)

    providers = api(world, role, "ProviderHealth")["providerStatus"]
    rows = table_rows(page, "providers")
    assert [(r[0], r[2]) for r in rows] == [
        (p["displayName"] or p["name"], FORMATS["count"](p["requests"])) for p in providers
    ]
    recent = api(world, role, "RecentActivity", {"limit": 10})["recentRequests"]
    rows = table_rows(page, "recent")
    assert [(r[1], r[-1]) for r in rows] == [(r["model"], FORMATS["usd4"](r["cost"])) for r in recent]
    assert len(rows) == 10


# The analytics view. Its queries are sent in the browser's zone; the tests give the browser one
# that is neither UTC nor the server's business zone, so a day computed in the wrong zone shows.
BROWSER_ZONE = "America/New_York"
ANALYTICS_DAYS = {"24h": 1, "7": 7, "30": 30, "90": 90}


def analytics_page(world: dict[str, Any], role: str) -> Page:
    page = world["browser"].new_page()
    page.send("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    page.goto(f"{world['origin']}/#token={world['tokens'][role]}")
    page.wait_for(f"document.getElementById('overview').dataset.loaded === '{role}'", f"the {role} page")
    page.eval("document.querySelector('[data-view=\"analytics\"]').click()")
    return page


def choose(page: Page, **values: str) -> None:
    """Sets the analytics controls (range, granularity, group) as a person would: each change
    fires the form's change event."""
    for name, value in values.items():
        page.eval(
            f"(() => {{ const s = document.getElementById('analytics-{name}'); s.value = {json.dumps(value)};"
            " s.dispatchEvent(new Event('change', { bubbles: true })); })()"
        )


def analytics_key(range_: str, granularity: str, group: str) -> str:
    return f"{range_}|{granularity}|{group or 'none'}"


def last_analytics_variables(page: Page) -> dict[str, Any]:
    """The variables of the page's latest Analytics request, as the browser sent them."""
    for event in reversed([e for e in page.browser.events if e.get("sessionId") == page.session]):
        if event["method"] != "Network.requestWillBeSent":
            continue
        sent = event["params"]["request"]
        body = sent.get("postData")
        if body is None and sent.get("hasPostData"):
            body = page.send("Network.getRequestPostData", {"requestId": event["params"]["requestId"]})["postData"]
        if body and "query Analytics" in body:
            return json.loads(body)["variables"]
    raise AssertionError("the page sent no Analytics request")


def expected_range(range_: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    if range_ == "24h":
        return {"startDate": None}
    today = datetime.now(ZoneInfo(BROWSER_ZONE)).date()
    return {"startDate": (today - timedelta(days=ANALYTICS_DAYS[range_] - 1)).isoformat(), "from": None}


def usage_call(world: dict[str, Any], role: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The Analytics operation over HTTP: its whole body, with the cost the server priced it at."""
    response = httpx.post(
        f"{world['origin']}/graphql",
        json={"query": (OPERATIONS / "Analytics.graphql").read_text(), "variables": variables},
        headers={"Authorization": f"Bearer {world['tokens'][role]}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    return response.json()


def check_analytics(page: Page, world: dict[str, Any], role: str, range_: str, granularity: str,
                    group: str) -> dict[str, Any]:
    """Waits for the choice to be drawn, then compares the page with the API's answer to the
    variables the page sent, and those variables with the choice."""
    key = analytics_key(range_, granularity, group)
    page.wait_for(f"document.getElementById('analytics').dataset.loaded === {json.dumps(key)}", f"analytics {key}")
    variables = last_analytics_variables(page)
    assert variables["granularity"] == granularity
    assert variables["groupBy"] == ([group] if group else [])
    assert variables["timeZone"] == BROWSER_ZONE
    assert expected_range(range_).items() <= variables["range"].items(), variables["range"]
    if range_ == "24h":
        sent = datetime.fromisoformat(variables["range"]["from"].replace("Z", "+00:00"))
        assert abs((datetime.now(timezone.utc) - sent) - timedelta(hours=24)) < timedelta(minutes=5)

    body = usage_call(world, role, variables)
    assert not body.get("errors"), body
    report = body["data"]["usage"]
    assert report["timeZone"] == BROWSER_ZONE

    shown = figures(page, "#analytics")
    assert {"totals.requests", "totals.errorRate", "totals.totalTokens", "totals.cost", "totals.cacheHitRate",
            "totals.responseTime.p50", "totals.responseTime.p99"} <= shown.keys(), shown.keys()
    for path, (fmt, text) in shown.items():
        assert text == expected_figure(report, path, fmt), (path, text, report["totals"])

    rows = table_rows(page, "analytics-table")
    assert len(rows) == len(report["groups"])
    assert [r[1] for r in rows] == [FORMATS["count"](g["measures"]["requests"]) for g in report["groups"]]
    assert [r[4] for r in rows] == [FORMATS["usd4"](g["measures"]["cost"]) for g in report["groups"]]
    if group == "MODEL":
        assert [r[0] for r in rows] == ["other" if g["isOther"] else g["key"]["model"] for g in report["groups"]]
    # The groups hold every request of the range, "other" included.
    assert sum(g["measures"]["requests"] for g in report["groups"]) == report["totals"]["requests"]
    summary = page.eval("document.getElementById('analytics-summary').textContent")
    assert summary.startswith(f"{len(report['buckets'])} buckets"), summary
    assert page.eval("document.getElementById('analytics-chart').width > 0")
    return body


# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dashboard_as_admin_via_the_sign_in_link(world: dict[str, Any]) -> None:
    page = world["browser"].new_page()
    origin, token = world["origin"], world["tokens"]["admin"]
    page.goto(f"{origin}/#token={token}")
    page.wait_for("document.getElementById('overview').dataset.loaded === 'admin'", "the admin page")
    # The token left the address bar and lives in this tab's sessionStorage.
    assert page.eval("location.hash") == ""
    assert page.eval("sessionStorage.getItem('statsgraph.token')") == token
    assert page.eval("document.getElementById('who').textContent") == "admin (admin)"
    check_chart(page, world, "admin", 7)
    check_overview(page, world, "admin")
    page.screenshot(ARTIFACTS / "dashboard-admin.png")

    page.eval("document.querySelector('[data-range=\"90\"]').click()")
    check_chart(page, world, "admin", 90)
    page.eval("document.querySelector('[data-range=\"30\"]').click()")
    check_chart(page, world, "admin", 30)

    assert_same_origin(page, origin, world["tokens"])
    assert_no_problems(page)
    # The sign-in link's token reached neither a URL the server saw nor its log.
    access_lines = [line for line in world["logs"].lines if '"GET / HTTP' in line]
    assert access_lines, "no access log line recorded: the check below would prove nothing"
    assert not [line for line in world["logs"].lines if token in line]
    headers = httpx.get(f"{origin}/", timeout=TIMEOUT).headers
    assert headers["content-security-policy"].startswith("default-src 'self'")


@pytest.mark.slow
def test_dashboard_as_user_by_pasting_a_token(world: dict[str, Any]) -> None:
    page = world["browser"].new_page()
    origin, token = world["origin"], world["tokens"]["user"]
    page.goto(f"{origin}/")
    page.wait_for("!document.getElementById('signin').hidden", "the sign-in form")
    page.eval(f"document.getElementById('signin-token').value = {json.dumps(token)}")
    page.eval("document.querySelector('#signin-form button').click()")
    page.wait_for("document.getElementById('overview').dataset.loaded === 'user'", "the user page")
    assert page.eval("document.getElementById('who').textContent") == "alice (user)"
    check_chart(page, world, "user", 7)
    check_overview(page, world, "user")
    # A user's page has no system health and no user column in recent requests.
    assert "systemHealth.errorRate" not in figures(page)
    assert "User" not in page.eval("[...document.querySelectorAll('#recent th')].map(e => e.textContent)")
    page.screenshot(ARTIFACTS / "dashboard-user.png")

    page.eval("document.getElementById('signout').click()")
    page.wait_for("!document.getElementById('signin').hidden", "the sign-in form after signing out")
    assert page.eval("sessionStorage.getItem('statsgraph.token')") is None
    assert_same_origin(page, origin, world["tokens"])
    assert_no_problems(page)


@pytest.mark.slow
def test_analytics_as_admin(world: dict[str, Any]) -> None:
    page = analytics_page(world, "admin")
    assert page.eval("document.querySelector('[data-view=\"analytics\"]').getAttribute('aria-current')") == "true"
    assert page.eval("document.getElementById('overview').hidden") is True
    # The default choice: 30 days by day and model, priced well under the server's limit.
    body = check_analytics(page, world, "admin", "30", "DAY", "MODEL")
    cost = body["extensions"]["cost"]
    assert cost["requested"] < cost["limit"] / 2, cost
    page.screenshot(ARTIFACTS / "dashboard-analytics.png")

    options = page.eval("[...document.querySelectorAll('#analytics-group option')].map(o => o.value)")
    assert options == ["MODEL", "PROVIDER", "API_KEY", "USER", "API_FORMAT", "STREAM", "OUTCOME", "STATUS_CODE", ""]
    choose(page, group="USER")
    check_analytics(page, world, "admin", "30", "DAY", "USER")
    choose(page, range="7", group="PROVIDER")
    check_analytics(page, world, "admin", "7", "DAY", "PROVIDER")
    choose(page, range="24h", granularity="HOUR", group="STATUS_CODE")
    check_analytics(page, world, "admin", "24h", "HOUR", "STATUS_CODE")
    choose(page, range="90", granularity="WEEK", group="")
    check_analytics(page, world, "admin", "90", "WEEK", "")
    rows = table_rows(page, "analytics-table")
    assert [r[0] for r in rows] == ["all requests"]

    assert_same_origin(page, world["origin"], world["tokens"])
    assert_no_problems(page)


@pytest.mark.slow
def test_analytics_hour_granularity_and_a_refused_report(world: dict[str, Any]) -> None:
    page = analytics_page(world, "admin")
    check_analytics(page, world, "admin", "30", "DAY", "MODEL")
    # Thirty days of hours by model is within the server's range rule but over its cost limit:
    # the refusal shows in the error area, the controls stay, the previous figures go.
    assert page.eval("document.querySelector('#analytics-granularity option[value=\"HOUR\"]').disabled") is False
    choose(page, granularity="HOUR")
    key = analytics_key("30", "HOUR", "MODEL")
    outcome = page.wait_for(
        f"(v => v.failed === {json.dumps(key)} ? 'failed' : v.loaded === {json.dumps(key)} && 'loaded')"
        "(document.getElementById('analytics').dataset)",
        "the refusal",
    )
    refused = usage_call(world, "admin", last_analytics_variables(page))
    assert outcome == "failed", f"expected over the cost limit, priced at {refused.get('extensions')}"
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
    assert page.eval("document.getElementById('error').textContent") == f"QUERY_TOO_EXPENSIVE: {error['message']}"
    assert page.eval("document.getElementById('error').hidden") is False
    assert page.eval("document.getElementById('analytics-controls').offsetHeight > 0")
    assert table_rows(page, "analytics-table") == []
    assert figures(page, "#analytics") == {}

    # Without a breakdown the same hours are cheap enough, and the error area clears.
    choose(page, group="")
    check_analytics(page, world, "admin", "30", "HOUR", "")
    assert page.eval("document.getElementById('error').hidden") is True

    # Over 90 days hours are not offered, and the choice falls back to days.
    choose(page, range="90")
    assert page.eval("document.querySelector('#analytics-granularity option[value=\"HOUR\"]').disabled") is True
    assert page.eval("document.getElementById('analytics-granularity').value") == "DAY"
    check_analytics(page, world, "admin", "90", "DAY", "")
    assert_no_problems(page)


@pytest.mark.slow
def test_analytics_as_user_has_no_user_dimension(world: dict[str, Any]) -> None:
    page = analytics_page(world, "user")
    check_analytics(page, world, "user", "30", "DAY", "MODEL")
    options = page.eval("[...document.querySelectorAll('#analytics-group option')].map(o => o.value)")
    assert "USER" not in options and "MODEL" in options
    choose(page, range="90", group="API_KEY")
    check_analytics(page, world, "user", "90", "DAY", "API_KEY")
    # A user's report is their own: it holds fewer requests than the admin's over the same range.
    variables = last_analytics_variables(page)
    assert (usage_call(world, "user", variables)["data"]["usage"]["totals"]["requests"]
            < usage_call(world, "admin", variables)["data"]["usage"]["totals"]["requests"])
    assert_same_origin(page, world["origin"], world["tokens"])
    assert_no_problems(page)


@pytest.mark.slow
def test_a_refused_token_returns_to_the_sign_in_form(world: dict[str, Any]) -> None:
    page = world["browser"].new_page()
    page.goto(f"{world['origin']}/#token=not-a-token")
    page.wait_for("!document.getElementById('signin-message').hidden", "the refusal message")
    assert "refused" in page.eval("document.getElementById('signin-message').textContent")
    assert page.eval("sessionStorage.getItem('statsgraph.token')") is None


@pytest.mark.slow
def test_graphiql_runs_a_dashboard_operation(world: dict[str, Any]) -> None:
    page = world["browser"].new_page()
    origin, token = world["origin"], world["tokens"]["admin"]
    page.goto(f"{origin}/graphql")
    page.wait_for("document.querySelector('.graphiql-execute-button') !== null", "GraphiQL")
    # One tab per operation of operations/, the first one open.
    names = sorted(p.stem for p in OPERATIONS.glob("*.graphql"))
    tabs = page.wait_for(
        "(() => { const t = [...document.querySelectorAll('.graphiql-tab-button')].map(e => e.textContent);"
        f" return t.length === {len(names)} && t; }})()",
        "the example tabs",
    )
    assert [t.strip() for t in tabs] == names
    editor = page.eval("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
    assert editor == (OPERATIONS / f"{names[0]}.graphql").read_text()

    page.eval(
        "(() => { const i = document.getElementById('token');"
        f" i.value = {json.dumps(token)}; i.dispatchEvent(new Event('input')); }})()"
    )
    page.eval("document.querySelector('.graphiql-execute-button').click()")
    text = page.wait_for(
        "(() => { const v = document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();"
        " return v.includes('\"data\"') && v; })()",
        "the result",
    )
    shown = json.loads(text)
    assert "errors" not in shown, shown
    assert shown["data"] == api(world, "admin", names[0])
    page.screenshot(ARTIFACTS / "graphiql.png")

    graphql_requests = [r for r in page.requests if r["url"] == f"{origin}/graphql" and r["method"] == "POST"]
    assert any(r["headers"].get("Authorization") == f"Bearer {token}" for r in graphql_requests)
    assert_same_origin(page, origin, world["tokens"])
    assert_no_problems(page)


@pytest.mark.slow
def test_the_graphiql_page_loads_nothing_from_elsewhere(world: dict[str, Any]) -> None:
    html = httpx.get(f"{world['origin']}/graphql", headers={"Accept": "text/html"}, timeout=TIMEOUT)
    assert html.status_code == 200 and "<div id=\"graphiql\">" in html.text
    assert "http://" not in html.text and "https://" not in html.text
    assert "<script>" not in html.text and "<style" not in html.text
    assert html.headers["content-security-policy"].startswith("default-src 'self'")


# ---------------------------------------------------------------------------------------------
# The pages over HTTP, without a browser.


async def test_pages_and_assets_are_served_with_the_policy(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with app_client(settings) as client:
        index = await client.get("/")
        assert index.status_code == 200 and 'src="/static/app/dashboard.js"' in index.text
        assert index.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
        assert "<script>" not in index.text and "<style" not in index.text and "style=" not in index.text
        lock = json.loads((STATIC / "vendor" / "vendor.lock.json").read_text())
        for package in lock["packages"]:
            for entry in package["files"]:
                asset = await client.get(f"/static/vendor/{entry['file']}")
                assert asset.status_code == 200, entry["file"]
                assert hashlib.sha256(asset.content).hexdigest() == entry["sha256"]
        for bundle in ("dashboard.js", "graphiql.js"):
            assert (await client.get(f"/static/app/{bundle}")).status_code == 200
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'src="/static/app/graphiql.js"' in page.text
        assert "cdn" not in page.text.lower() and "unpkg" not in page.text


async def test_introspection_off_removes_graphiql(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", introspection=False)
    async with app_client(settings) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404 and "graphiql" not in page.text.lower()
        assert (await client.get("/")).status_code == 200


def test_every_vendored_file_is_locked_and_licensed() -> None:
    lock = json.loads((STATIC / "vendor" / "vendor.lock.json").read_text())
    locked = {e["file"]: e["sha256"] for p in lock["packages"] for e in p["files"]}
    shipped = {
        p.relative_to(STATIC / "vendor").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (STATIC / "vendor").rglob("*") if p.is_file() and p.name != "vendor.lock.json"
    }
    assert shipped == locked
    assert all(f"{p['package']}/LICENSE" in locked for p in lock["packages"])
    assert all(p["version"].count(".") == 2 and p["integrity"].startswith("sha512-") for p in lock["packages"])


def test_the_vendor_check_refuses_a_changed_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """scripts/vendor_assets.py --check against packages served from memory (CI runs it against
    the npm registry): identical files pass; one changed byte, a stray file or a stale lock fail."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "scripts" / "vendor_assets.py")
    assert spec is not None and spec.loader is not None
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    shipped = {name: {"version": version, "integrity": "sha512-x", "files": {f: f"{name}/{f}".encode() for f in files}}
               for name, (version, files) in vendor.PACKAGES.items()}
    folder = tmp_path / "vendor"
    for name, item in shipped.items():
        for path, data in item["files"].items():
            (folder / name / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / name / path).write_bytes(data)
    monkeypatch.setattr(vendor, "VENDOR", folder)
    monkeypatch.setattr(vendor, "LOCK", folder / "vendor.lock.json")
    monkeypatch.setattr(vendor, "ROOT", tmp_path)
    monkeypatch.setattr(vendor, "fetch_all", lambda _tmp: shipped)
    vendor.LOCK.write_text(json.dumps(vendor.lock_of(shipped)))
    assert vendor.check() == 0

    target = folder / "graphiql" / "graphiql.min.js"
    target.write_bytes(target.read_bytes() + b" ")
    assert vendor.check() == 1
    assert "graphiql/graphiql.min.js: differs from graphiql@" in capsys.readouterr().err
    target.write_bytes(b"graphiql/graphiql.min.js")
    (folder / "extra.js").write_text("x")
    assert vendor.check() == 1 and "extra.js: not in the lock" in capsys.readouterr().err
    (folder / "extra.js").unlink()
    vendor.LOCK.write_text("{}")
    assert vendor.check() == 1 and "does not match the pinned packages" in capsys.readouterr().err
