"""The body bound holds for declared and chunked bodies alike (an ASGI app called directly)."""

from __future__ import annotations

import json
from typing import Any

from statsgraph.server.body_limit import BodyLimit


class Echo:
    """The app behind the limit: answers with the body it was given."""

    def __init__(self) -> None:
        self.seen: bytes | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        message = await receive()
        self.seen = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": self.seen})


async def _call(limit: BodyLimit, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> list[dict]:
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive() -> dict:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await limit({"type": "http", "headers": headers}, receive, send)
    return sent


async def test_chunks_within_the_limit_reach_the_app_as_one_body() -> None:
    app = Echo()
    sent = await _call(BodyLimit(app, max_bytes=10), [b"abc", b"defg"], [])
    assert app.seen == b"abcdefg" and sent[0]["status"] == 200


async def test_a_chunked_body_over_the_limit_is_refused_before_the_app_runs() -> None:
    app = Echo()
    sent = await _call(BodyLimit(app, max_bytes=10), [b"x" * 6, b"y" * 6], [])
    assert app.seen is None and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    app = Echo()
    sent = await _call(BodyLimit(app, max_bytes=10), [b"x"], [(b"content-length", b"11")])
    assert app.seen is None and sent[0]["status"] == 413
    sent = await _call(BodyLimit(Echo(), max_bytes=10), [b"x"], [(b"content-length", b"nonsense")])
    assert sent[0]["status"] == 413
