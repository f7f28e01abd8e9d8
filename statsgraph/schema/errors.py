"""Error masking: client errors keep their message and code; everything else becomes a generic
message with a request id, and the full exception goes to the server log under that id."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from ..db.errors import is_database_unavailable
from ..resolvers.errors import ClientError

log = logging.getLogger("statsgraph.errors")


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        original = error.original_error
        # Errors without an original are the parser's and validator's: about the document only.
        return original is not None and not isinstance(original, ClientError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = getattr(self.execution_context.context, "request_id", "")
        original = error.original_error
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


__all__ = ["MaskInternalErrors"]
