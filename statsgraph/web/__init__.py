"""The browser pages statsgraph serves itself: the dashboard at `/` and GraphiQL at `/graphql`.

Every file they load ships in this package (`static/`): the pages, their stylesheets, the
dashboard and GraphiQL start-up bundles built from `client/` (`static/app/`), and the vendored
React, ReactDOM and GraphiQL from the npm registry (`static/vendor/`, with `vendor.lock.json`).
Nothing is fetched from another origin, and every response carries a Content-Security-Policy
that allows this origin only, with no inline script or style.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"

# Fonts and images as data: URIs are part of GraphiQL's stylesheet; they are not requests.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


@lru_cache(maxsize=None)
def _page(name: str) -> str:
    return (STATIC / name).read_text()


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(_page("graphiql.html"), headers={"Cache-Control": "no-cache"})


class SecurityHeaders:
    """Adds the Content-Security-Policy (and friends) to every HTTP response that lacks one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_pages(app: FastAPI) -> None:
    """Mount the static files and the dashboard, and add the security headers."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(_page("index.html"), headers={"Cache-Control": "no-cache"})

    app.add_middleware(SecurityHeaders)


__all__ = ["CONTENT_SECURITY_POLICY", "STATIC", "SecurityHeaders", "graphiql_page", "install_pages"]
