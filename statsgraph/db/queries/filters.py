"""WHERE clauses shared by the queries: scope, errors, fallbacks."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, or_, select, true

from ...core.scope import Scope, UserScope
from ..models import RequestCandidate, Usage

EXECUTED_CANDIDATE = ("success", "failed")


def usage_in_scope(scope: Scope) -> ColumnElement[bool]:
    if isinstance(scope, UserScope):
        return Usage.user_id == scope.user_id
    return true()


def candidates_in_scope(scope: Scope) -> ColumnElement[bool]:
    # Candidates carry no owner; they belong to the user whose usage row has their request id.
    # A correlated EXISTS probes the unique request_id index per candidate in the time range;
    # an IN over the user's request ids would read all of them (SQLite materialises it).
    if isinstance(scope, UserScope):
        return (
            select(Usage.id)
            .where(Usage.request_id == RequestCandidate.request_id, Usage.user_id == scope.user_id)
            .exists()
        )
    return true()


def is_error() -> ColumnElement[bool]:
    return or_(Usage.status_code >= 400, Usage.error_message.is_not(None))


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


__all__ = ["EXECUTED_CANDIDATE", "candidates_in_scope", "count_if", "is_error", "usage_in_scope"]
