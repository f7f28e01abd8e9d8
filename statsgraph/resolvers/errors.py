"""Errors a client may see, each with its `extensions.code`. Anything else is masked."""

from __future__ import annotations

from graphql import GraphQLError


class ClientError(GraphQLError):
    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


class ServiceUnavailable(ClientError):
    code = "SERVICE_UNAVAILABLE"


__all__ = ["BadUserInput", "ClientError", "Forbidden", "ServiceUnavailable", "Unauthenticated"]
