"""Prometheus metrics: latency by operation, errors by code, SQL statements per request, the
field cache's hits and misses by field, and how far the aggregator lags."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from strawberry.extensions import SchemaExtension

from ..resolvers.cache.store import FieldCacheStore

# The label of every operation whose name is not one of the known ones: label values come from a
# bounded set, never from the client.
OTHER = "other"


def operation_names(documents: Iterable[str]) -> frozenset[str]:
    """The names of the operations defined in some documents (the persisted manifest's)."""
    names: set[str] = set()
    for document in documents:
        try:
            parsed = parse(document)
        except GraphQLError:
            continue
        names.update(
            d.name.value for d in parsed.definitions if isinstance(d, OperationDefinitionNode) and d.name
        )
    return frozenset(names)


# Error codes the server itself sets; anything else is counted as `other`.
KNOWN_CODES = frozenset({
    "UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "BAD_REQUEST", "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "QUERY_TOO_EXPENSIVE",
    "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_REQUIRED",
})


class Metrics:
    """One set of metrics per app, in its own registry (several apps may share a process)."""

    def __init__(self, cache: FieldCacheStore, *, operations: Iterable[str] = ()) -> None:
        self.operations = frozenset(operations)
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "statsgraph_request_seconds", "GraphQL request latency", ["operation"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.errors = Counter("statsgraph_errors", "GraphQL errors by code", ["code"], registry=self.registry)
        self.statements = Histogram(
            "statsgraph_sql_statements_per_request", "SQL statements run by one request",
            registry=self.registry, buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55),
        )
        self.aggregates_days_behind = Gauge(
            "statsgraph_aggregates_days_behind",
            "Closed days after the newest pre-aggregated one (NaN when none is)", registry=self.registry,
        )
        self.expensive_documents = Counter(
            "statsgraph_expensive_documents", "Documents run off the serving loop for their cost",
            registry=self.registry,
        )
        self.registry.register(_CacheCollector(cache))

    def operation_label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        return name if name in self.operations else OTHER

    def extension(self) -> type[SchemaExtension]:
        metrics = self

        class RecordMetrics(SchemaExtension):
            def on_operation(self) -> Iterator[None]:
                started = time.perf_counter()
                yield
                ec = self.execution_context
                metrics.latency.labels(metrics.operation_label(ec.operation_name)).observe(
                    time.perf_counter() - started
                )
                for error in getattr(ec.result, "errors", None) or ():
                    code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                    metrics.errors.labels(code if code in KNOWN_CODES else OTHER).inc()

        return RecordMetrics


class _CacheCollector:
    def __init__(self, cache: FieldCacheStore) -> None:
        self._cache = cache

    def collect(self) -> Iterator[CounterMetricFamily]:
        hits = CounterMetricFamily("statsgraph_cache_hits", "Field cache hits", labels=["field"])
        misses = CounterMetricFamily("statsgraph_cache_misses", "Field cache misses", labels=["field"])
        for name, n in self._cache.counters.hits.items():
            hits.add_metric([name], n)
        for name, n in self._cache.counters.misses.items():
            misses.add_metric([name], n)
        yield hits
        yield misses


__all__ = ["OTHER", "Metrics", "operation_names"]
