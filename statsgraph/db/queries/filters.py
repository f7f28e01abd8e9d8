"""WHERE clauses shared by the queries: scope, errors, fallbacks."""

from __future__ import annotations

import enum

from sqlalchemy import ColumnElement, case, or_, select, true

from ...core.scope import Scope, UserScope
from ..models import RequestCandidate, Usage

EXECUTED_CANDIDATE = ("success", "failed")


class CandidateIndex(enum.Enum):
    """Which index finds the executed candidates of a time range on the database read."""

    TIME = "time"  # `request_candidates (created_at)` exists (`statsgraph db init --create-indexes`)
    STATUS = "status"  # Aether's own indexes only: request_id, status, provider_id


def executed_candidate(index: CandidateIndex = CandidateIndex.TIME) -> ColumnElement[bool]:
    """Executed candidates, written for the index that should find them among a time range's.

    With the created_at index, `status || ''` keeps the planner off the status index, which
    SQLite otherwise prefers and which reads every executed candidate of all history. Without
    it, that status index is the better path: the alternative is a scan of every candidate's
    row (SQLite's admin page on 1M requests: 1,849 ms with the scan, 531 ms through the index;
    bench/README.md)."""
    status = RequestCandidate.status.concat("") if index is CandidateIndex.TIME else RequestCandidate.status
    return status.in_(EXECUTED_CANDIDATE)


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


__all__ = ["EXECUTED_CANDIDATE", "CandidateIndex", "executed_candidate", "candidates_in_scope", "count_if", "is_error", "usage_in_scope"]
