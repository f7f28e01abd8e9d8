"""Persisted operations: Apollo's automatic persisted queries (APQ), a manifest of the
dashboard's own operations, and a lock-down mode that runs nothing else.

APQ lets a client send only `extensions.persistedQuery.sha256Hash` (over GET, so HTTP caches can
keep the answer); an unknown hash gets PERSISTED_QUERY_NOT_FOUND and the client retries with the
document, which is then remembered in the shared cache: only once the request is answered, only
for an authenticated viewer, only a document that parses and validates against the schema, and
only up to `MAX_APQ_DOCUMENT_BYTES`. A document read back is re-hashed before it is used."""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse
from graphql import GraphQLError, parse, print_ast, validate
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData

from ..resolvers.cache.backends import SharedCache
from .expensive_lane import ExpensiveLane

APQ_TTL_SECONDS = 7 * 24 * 3600
# The dashboard's largest operation is under 2 KB; the token limit keeps real ones far below this.
MAX_APQ_DOCUMENT_BYTES = 16 * 1024
APQ_PREFIX = "statsgraph:apq:"

# Documents a request asked to register (hash, document), stored once the request is answered.
_registrations: ContextVar[list[tuple[str, str]] | None] = ContextVar("apq_registrations", default=None)


class PersistedQueryError(Exception):
    """A request refused before execution, answered as a GraphQL error body."""

    def __init__(self, code: str, message: str, *, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def build_manifest(operations_dir: Path) -> dict[str, str]:
    """hash → document for every `*.graphql` file of the directory, under the hash of the file's
    text and of its printed form (what graphql-js `print` sends), so clients may send either."""
    manifest: dict[str, str] = {}
    for path in sorted(operations_dir.glob("*.graphql")):
        text = path.read_text()
        for form in (text, print_ast(parse(text))):
            manifest[sha256_hex(form)] = form
    return manifest


def load_manifest(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    data = json.loads(path.read_text())
    bad = [h for h, doc in data.items() if sha256_hex(doc) != h]
    if bad:
        raise ValueError(f"persisted manifest {path}: entries whose hash does not match: {bad[:3]}")
    return data


class PersistedQueryRouter(GraphQLRouter):
    def __init__(
        self, *args: Any, manifest: dict[str, str], shared: SharedCache, only_persisted: bool,
        lane: ExpensiveLane | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._lane = lane
        self._manifest = manifest
        self._shared = shared
        self._only_persisted = only_persisted

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        pending: list[tuple[str, str]] = []
        reset = _registrations.set(pending)
        try:
            response = await super().run(*args, **kwargs)
            if pending and getattr(kwargs.get("context"), "viewer", None) is not None:
                for digest, document in pending:
                    await self._register(digest, document)
            return response
        except PersistedQueryError as exc:
            return JSONResponse(
                {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                status_code=exc.status,
                headers={"Cache-Control": "no-store"},
            )
        finally:
            _registrations.reset(reset)

    async def execute_single(  # noqa: PLR0917 - strawberry's signature
        self, request: Any, request_adapter: Any, sub_response: Any, context: Any, root_value: Any,
        request_data: GraphQLRequestData,
    ) -> Any:
        here = super().execute_single
        lane = self._lane
        if lane is None or not lane.is_expensive(
            self.schema, request_data.query, request_data.variables, request_data.operation_name
        ):
            return await here(request, request_adapter, sub_response, context, root_value, request_data)
        return await lane.run(
            context, lambda moved: here(request, request_adapter, sub_response, moved, root_value, request_data)
        )

    async def _register(self, digest: str, document: str) -> None:
        raw = document.encode()
        if len(raw) > MAX_APQ_DOCUMENT_BYTES:
            return
        try:
            parsed = parse(document, max_tokens=10_000)
        except GraphQLError:
            return
        if validate(self.schema._schema, parsed):  # type: ignore[attr-defined]
            return
        await self._shared.set(APQ_PREFIX + digest, raw, APQ_TTL_SECONDS)

    def decode_json(self, data: str | bytes) -> object:
        # Bodies and GET variables: a document nested too deep for the decoder, a number past
        # Python's integer-string limit, or anything else that is not JSON is the client's error.
        try:
            return json.loads(data)
        except (RecursionError, ValueError) as exc:
            raise PersistedQueryError(
                "BAD_REQUEST", f"The request is not acceptable JSON ({_why(exc)})", status=400
            ) from exc

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET that carries only a persisted-query hash is an operation, not a browser.
        return super().should_render_graphql_ide(request) and request.query_params.get("extensions") is None

    async def render_graphql_ide(self, request: Any) -> Any:
        # statsgraph's own GraphiQL page: every asset served from this origin (statsgraph.web).
        from ..web import graphiql_page

        return graphiql_page()

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            data = await super().parse_http_body(request)
        except (UnicodeDecodeError, AttributeError, TypeError) as exc:
            # strawberry expects a UTF-8 JSON object; anything else is the client's error.
            raise PersistedQueryError(
                "BAD_REQUEST", "The request body must be a UTF-8 JSON object", status=400
            ) from exc
        if isinstance(data, list):
            return [await self._resolve(item) for item in data]
        return await self._resolve(data)

    async def _resolve(self, data: GraphQLRequestData) -> GraphQLRequestData:
        persisted = (data.extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict):
            if self._only_persisted:
                self._refuse_adhoc(data.query)
            return data
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise PersistedQueryError("BAD_USER_INPUT", "persistedQuery.sha256Hash must be a sha256 hex digest")
        if data.query is not None:
            if sha256_hex(data.query) != digest:
                raise PersistedQueryError("BAD_USER_INPUT", "persistedQuery.sha256Hash does not match the query")
            if self._only_persisted:
                self._refuse_adhoc(data.query)
            elif digest not in self._manifest:
                pending = _registrations.get()
                if pending is not None:
                    pending.append((digest, data.query))
            return data
        document = self._manifest.get(digest)
        if document is None and not self._only_persisted:
            document = _verified(await self._shared.get(APQ_PREFIX + digest), digest)
        if document is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        data.query = document
        return data

    def _refuse_adhoc(self, query: str | None) -> None:
        if query is None or sha256_hex(query) not in self._manifest:
            raise PersistedQueryError(
                "PERSISTED_QUERY_REQUIRED",
                "This server only runs the persisted operations of its manifest; "
                "send extensions.persistedQuery.sha256Hash of one of them.",
            )


def _verified(raw: bytes | None, digest: str) -> str | None:
    """A stored document, only if it is still the one its hash names."""
    if raw is None or len(raw) > MAX_APQ_DOCUMENT_BYTES:
        return None
    try:
        document = raw.decode()
    except UnicodeDecodeError:
        return None
    return document if sha256_hex(document) == digest else None


def _why(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deep"
    if isinstance(exc, json.JSONDecodeError):
        return "malformed"
    return "a number too large"


__all__ = ["PersistedQueryRouter", "build_manifest", "load_manifest", "sha256_hex"]
