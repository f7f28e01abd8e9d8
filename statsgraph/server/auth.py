"""Aether access tokens: verification (signature, type, expiry, user state, logout list) and
minting for development."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.viewer import Viewer
from ..db.models import User
from ..resolvers.cache.backends import SharedCache
from .settings import Settings

log = logging.getLogger(__name__)


class AuthError(Exception):
    """Why a token was refused; the client only ever sees a generic message."""


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
    if shared is not None and await shared.exists(blacklist_key(token)):
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


__all__ = ["AuthError", "authenticate", "bearer_token", "blacklist_key", "mint_token"]
