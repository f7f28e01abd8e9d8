"""Error masking: client errors keep their message and code; everything else becomes a generic
message with a request id, and the full exception goes to the server log under that id.

Errors about the document itself get Apollo's codes: GRAPHQL_PARSE_FAILED (syntax),
GRAPHQL_VALIDATION_FAILED (unknown fields, wrong arguments, the depth/alias/token limits) and
BAD_USER_INPUT (variables that do not fit their declared types)."""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from ..db.errors import is_database_unavailable
from ..resolvers.errors import ClientError

log = logging.getLogger("statsgraph.errors")

# graphql-core's refusals of a variable's value ("Variable '$days' got invalid value …"): raised
# before execution, with the scalar's own error as the original. The client's mistake.
_VARIABLE_ERROR = re.compile(r"Variable '\$(\w+)'")


def _bad_variable(error: GraphQLError) -> str | None:
    match = _VARIABLE_ERROR.match(error.message) if error.path is None else None
    return match.group(1) if match else None


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        original = error.original_error
        if _bad_variable(error) is not None:
            return True  # given a code below, not masked
        # Errors without an original are the parser's and validator's: about the document only.
        # A GraphQLError as the original is graphql-core coercing the request's variables.
        return original is not None and not isinstance(original, (ClientError, GraphQLError))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_document_code(e) for e in super()._process_errors(errors)]

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = getattr(self.execution_context.context, "request_id", "")
        original = error.original_error
        variable = _bad_variable(error)
        if variable is not None:
            return GraphQLError(
                message=error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                extensions={"code": "BAD_USER_INPUT", "variableName": variable},
            )
        if is_database_unavailable(original):
            code, message = "SERVICE_UNAVAILABLE", "The statistics database is unavailable; retry shortly."
            log.warning("request %s: database unavailable at %s: %r", request_id, error.path, original)
        else:
            code, message = "INTERNAL_SERVER_ERROR", "Internal error."
            log.error("request %s: error at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            message=f"{message} Request id: {request_id}",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": code, "requestId": request_id},
        )


def with_document_code(error: GraphQLError) -> GraphQLError:
    """The error with a code when it is about the request rather than its execution."""
    if (error.extensions or {}).get("code"):
        return error
    original = error.original_error
    if original is None:
        code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    elif isinstance(original, GraphQLError) and error.path is None:
        code = "BAD_USER_INPUT"
    else:
        return error
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


__all__ = ["MaskInternalErrors", "with_document_code"]
