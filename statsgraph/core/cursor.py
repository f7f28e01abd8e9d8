"""Opaque keyset cursors of the request log: a position (created_at, id) bound to the query it
came from and signed, so a cursor tampered with or taken from another query is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime


class BadCursor(ValueError):
    pass


def binding_of(*parts: object) -> str:
    """A short digest of what a cursor belongs to: scope, filter, range."""
    return hashlib.sha256(json.dumps([repr(p) for p in parts]).encode()).hexdigest()[:24]


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()[:32]


def encode(created_at: datetime, row_id: str, *, binding: str, key: bytes) -> str:
    body = json.dumps([created_at.isoformat(), row_id, binding], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body + b"." + _mac(key, body).encode()).decode().rstrip("=")


def decode(cursor: str, *, binding: str, key: bytes) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body, _, mac = raw.rpartition(b".")
        if not body or not hmac.compare_digest(mac.decode(), _mac(key, body)):
            raise BadCursor("cursor signature")
        at, row_id, bound = json.loads(body)
        if bound != binding:
            raise BadCursor("cursor from another query")
        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None or not isinstance(row_id, str):
            raise BadCursor("cursor position")
        return instant, row_id
    except BadCursor:
        raise
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor("malformed cursor") from exc


__all__ = ["BadCursor", "binding_of", "decode", "encode"]
