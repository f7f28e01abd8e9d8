"""Aether access tokens: verification (signature, type, expiry, user state, logout list) and
minting for development."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.viewer import Viewer
from ..db.models import User
from ..resolvers.cache.backends import LogoutListUnavailable, SharedCache
from .settings import Settings

log = logging.getLogger(__name__)


class AuthError(Exception):
    """Why a token was refused; the client only ever sees a generic message."""


_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def canonical_token(token: str) -> str:
    """The one spelling of a compact JWT: its three base64url segments re-encoded without
    padding. Variants that decode to the same bytes (padding, unused trailing bits) are the same
    token, so the logout list cannot be dodged by re-spelling one; anything else is refused."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("malformed token")
    canonical = []
    for part in parts:
        if not _SEGMENT.fullmatch(part):
            raise AuthError("malformed token")
        bare = part.rstrip("=")
        try:
            raw = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
        except (binascii.Error, ValueError) as exc:
            raise AuthError("malformed token") from exc
        canonical.append(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
    return ".".join(canonical)


def blacklist_key(token: str) -> str:
    return "jwt:blacklist:" + hashlib.sha256(token.encode()).hexdigest()


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed Authorization header")
    return token.strip()


async def authenticate(
    token: str,
    *,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    shared: SharedCache | None,
) -> Viewer:
    token = canonical_token(token)
    try:
        payload = jwt.decode(
            token,
            settings.require_jwt_secret(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    if payload.get("type") != "access":
        raise AuthError("not an access token")
    user_id = payload.get("user_id")
    if not isinstance(user_id, str) or not (0 < len(user_id) <= 64 and user_id.isprintable()):
        raise AuthError("token without a valid user_id")
    # Policy: every request looks the token up in the logout list itself, on a connection pool
    # that cache traffic cannot use, and no breaker ever skips the lookup. Only when this
    # request's own lookup fails (Redis unreachable, or no answer within the socket timeout) is
    # this one request served without it, with a warning; the next request looks again.
    if shared is not None:
        try:
            listed = await shared.logout_listed(blacklist_key(token))
        except LogoutListUnavailable as exc:
            log.warning("logout list unreachable for this request (%s); token checked without it", exc)
            listed = False
        if listed:
            raise AuthError("token was logged out")
    async with sessions() as session:
        user = (await session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()
    if user is None or user.is_deleted or not user.is_active:
        raise AuthError("user missing, deleted or inactive")
    role = str(user.role).lower().rsplit(".", 1)[-1]
    return Viewer(
        id=user.id,
        username=user.username,
        email=user.email or "",
        role="admin" if role == "admin" else "user",
    )


def mint_token(user_id: str, *, settings: Settings, ttl: timedelta = timedelta(hours=24)) -> str:
    now = datetime.now(timezone.utc)
    payload = {"user_id": user_id, "type": "access", "iat": now, "exp": now + ttl}
    return jwt.encode(payload, settings.require_jwt_secret(), algorithm=settings.jwt_algorithm)


__all__ = ["AuthError", "authenticate", "bearer_token", "blacklist_key", "canonical_token", "mint_token"]
