"""The cost of a query, computed from the document before anything runs.

Every field costs its own `cost` once per time it is resolved, and a list field resolves its
children once per item it is expected to hold (`size`). So a document costs

    cost(selection, n) = Σ over its fields f:  n × (own(f) + cost(f's selection, n × size(f)))

with n = 1 at the root. Aliases count as separate fields, fragments are expanded where they are
spread, and variables are resolved to the values sent (or their defaults). A field that has no
rule costs `LEAF` when it is a scalar and `OBJECT` otherwise, with size 1.

Rules live in `RULES`, keyed `"Type.field"` with GraphQL names. `size` is an int, or a function
of a `Call`: the field's own arguments, the arguments of the fields above it (nearest first, so a
bucket's groups see the `usage` field's `limit`), and the request's clock (a range without an end
runs to now). The unit is roughly "one value in the answer"; a field that reads the database or
the cache costs about ten.

The total comes back as `extensions.cost = {requested, limit}` on every response; over the limit
the document is refused with QUERY_TOO_EXPENSIVE and nothing runs."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)
from graphql.language import DocumentNode, VariableNode
from strawberry.extensions import SchemaExtension

Args = Mapping[str, Any]

LEAF = 1.0
OBJECT = 1.0
# How many models a day or a period is expected to hold, for the per-model lists.
MODELS_PER_DAY = 12
MODELS_PER_PERIOD = 20
DEFAULT_MAX_QUERY_COST = 30_000


def _int(value: Any, default: int, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(1, min(value, cap))


class _Clock:
    """The request's instant, read only if some size needs it: a cost that never read it is the
    same at any time, and can be kept for the next request of the same document."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self.read = False

    def now(self) -> datetime:
        self.read = True
        return self._now


@dataclass(frozen=True)
class Call:
    """What a list's size may depend on."""

    args: Args
    inherited: Args
    clock: _Clock

    @property
    def now(self) -> datetime:
        return self.clock.now()


Size = Callable[[Call], int]


def arg(name: str, *, default: int, cap: int) -> Size:
    """The list holds as many items as the field's argument `name` says (bounded by `cap`)."""
    return lambda call: _int(call.args.get(name), default, cap)


def parent_arg(name: str, *, default: int, cap: int) -> Size:
    """The list holds as many items as an argument `name` of a field above it says."""
    return lambda call: _int(call.inherited.get(name), default, cap)


@dataclass(frozen=True)
class Rule:
    cost: float | Callable[[Call], float] = OBJECT
    size: int | Size = 1

    def cost_of(self, call: Call) -> float:
        return self.cost(call) if callable(self.cost) else self.cost

    def size_of(self, call: Call) -> int:
        return self.size if isinstance(self.size, int) else self.size(call)


# The analytics' own bounds (the resolver refuses anything beyond them, so a document never
# costs more than they allow).
MAX_BUCKETS = 800
MAX_GROUPS = 100


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _day(value: Any, *, offset: int = 0) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc) + timedelta(days=offset)


def _span(time_range: Any, now: datetime) -> timedelta:
    """An upper bound of a `TimeRange`'s length whatever its time zone (a day of margin on
    each side of dates, since a zone moves midnight by at most a day)."""
    if not isinstance(time_range, Mapping):
        return timedelta(0)
    start = _instant(time_range.get("from")) or _day(time_range.get("startDate"), offset=-1)
    end = _instant(time_range.get("to")) or _day(time_range.get("endDate"), offset=2) or now + timedelta(days=1)
    if start is None or end <= start:
        return timedelta(0)
    return end - start


def report_buckets(call: Call) -> int:
    """How many buckets a `usage` report holds: none without a granularity, else its range in
    units of it (weeks and months counted short, as 7 and 28 days, to stay an upper bound)."""
    unit_hours = {"HOUR": 1, "DAY": 24, "WEEK": 7 * 24, "MONTH": 28 * 24}.get(str(call.inherited.get("granularity")))
    if unit_hours is None:
        return 0
    hours = _span(call.inherited.get("range"), call.now) / timedelta(hours=1)
    return max(1, min(MAX_BUCKETS, int(hours // unit_hours) + 2))


def report_reads(call: Call) -> float:
    """A report reads its range once per kind of figure: ten per day of range on top of the
    statements themselves, since longer ranges read more pre-aggregated rows."""
    days = _span(call.args.get("range"), call.now) / timedelta(days=1)
    return 30 + 10 * min(days, 402)


# A group key's field for each dimension; a field of a dimension not grouped by resolves to null
# at once, so it costs a tenth and its selection nothing.
KEY_FIELDS = {
    "model": "MODEL", "provider": "PROVIDER", "apiKey": "API_KEY", "user": "USER", "apiFormat": "API_FORMAT",
    "isStream": "STREAM", "outcome": "OUTCOME", "statusCode": "STATUS_CODE",
}
NULL_KEY = 0.1


def _grouped(call: Call, field: str) -> bool:
    group_by = call.inherited.get("groupBy") or ()
    return KEY_FIELDS[field] in ([group_by] if isinstance(group_by, str) else group_by)


def key_field(field: str, cost: float) -> Rule:
    return Rule(
        cost=lambda call: cost if _grouped(call, field) else NULL_KEY,
        size=lambda call: 1 if _grouped(call, field) else 0,
    )


def report_groups(call: Call) -> int:
    """Without `groupBy` a report has one group; with it, up to `limit` and the `isOther` one."""
    group_by = call.inherited.get("groupBy")
    if not group_by:
        return 1
    return _int(call.inherited.get("limit"), default=20, cap=MAX_GROUPS) + 1


RULES: dict[str, Rule] = {
    "Query.viewer": Rule(cost=1),
    "Query.dashboardStats": Rule(cost=2),
    "DashboardStats.allTime": Rule(cost=10),
    "DashboardStats.today": Rule(cost=10),
    "DashboardStats.yesterday": Rule(cost=10),
    "DashboardStats.month": Rule(cost=10),
    "DashboardStats.apiKeys": Rule(cost=10),
    "DashboardStats.users": Rule(cost=10),
    "DashboardStats.systemHealth": Rule(cost=10),
    "DashboardStats.quota": Rule(cost=10),
    "Query.recentRequests": Rule(cost=10, size=arg("limit", default=10, cap=100)),
    "RecentRequest.user": Rule(cost=5),
    "RecentRequest.provider": Rule(cost=5),
    "Query.providerStatus": Rule(cost=10, size=arg("limit", default=10, cap=100)),
    "Query.dailyStats": Rule(cost=2),
    "DailyStatsReport.days": Rule(cost=10, size=parent_arg("days", default=7, cap=366)),
    "DailyStat.modelBreakdown": Rule(cost=2, size=MODELS_PER_DAY),
    "DailyStatsReport.modelSummary": Rule(cost=10, size=MODELS_PER_PERIOD),
    # A report reads the database once per kind of figure, whatever its size; its answer grows
    # as buckets × groups × measures.
    "Query.usage": Rule(cost=report_reads),
    "UsageReport.groups": Rule(size=report_groups),
    "UsageReport.buckets": Rule(size=report_buckets),
    "UsageBucket.groups": Rule(size=report_groups),
    **{f"GroupKey.{name}": key_field(name, 2 if name in ("provider", "apiKey", "user") else LEAF) for name in KEY_FIELDS},
    "Query.requests": Rule(cost=10),
    "RequestConnection.edges": Rule(size=parent_arg("first", default=20, cap=100)),
    "RecentRequest.apiKey": Rule(cost=5),
}


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], now: datetime
    ) -> None:
        self.schema = schema
        self.clock = _Clock(now)
        self.variables = dict(variables)
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def operation_cost(self, operation: OperationDefinitionNode) -> float:
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        root = self.schema.get_root_type(operation.operation)
        return self.selection_cost(operation.selection_set, root, {}, 1.0, frozenset())

    def _fields(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, seen: frozenset[str]) -> Iterator[tuple[FieldNode, GraphQLNamedType | None]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                cond = selection.type_condition
                yield from self._fields(selection.selection_set, self.schema.get_type(cond.name.value) if cond else parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: validation refuses it
                    continue
                yield from self._fields(
                    fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value), seen | {name}
                )

    def selection_cost(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, inherited: Args, n: float,
        seen: frozenset[str],
    ) -> float:
        total = 0.0
        for node, owner in self._fields(selection_set, parent, seen):
            name = node.name.value
            definition: GraphQLField | None = None
            if isinstance(owner, GraphQLObjectType):
                definition = owner.fields.get(name)
            field_type = get_named_type(definition.type) if definition else None
            args = self._args(node, definition)
            rule = RULES.get(f"{owner.name}.{name}" if owner else "") if owner else None
            if rule is None:
                leaf = node.selection_set is None or (field_type is not None and is_leaf_type(field_type))
                rule = Rule(cost=LEAF if leaf else OBJECT)
            call = Call(args, inherited, self.clock)
            total += n * rule.cost_of(call)
            if node.selection_set is not None:
                size = rule.size_of(call)
                total += self.selection_cost(node.selection_set, field_type, {**inherited, **args}, n * size, seen)
        return total

    def _args(self, node: FieldNode, definition: GraphQLField | None) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if definition is not None:
            for arg_name, arg_def in definition.args.items():
                if arg_def.default_value is not None and not _is_undefined(arg_def.default_value):
                    args[arg_name] = arg_def.default_value
        for argument in node.arguments or ():
            value = argument.value
            if isinstance(value, VariableNode):
                if value.name.value in self.variables:
                    args[argument.name.value] = self.variables[value.name.value]
            else:
                args[argument.name.value] = value_from_ast_untyped(value, self.variables)
        return args


def _is_undefined(value: Any) -> bool:
    return type(value).__name__ == "UndefinedType"


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    now: datetime | None = None,
) -> int:
    """The cost of the operation a request would run (the named one, or the only one)."""
    return _cost_and_clock(schema, document, variables, operation_name, now)[0]


def _cost_and_clock(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    now: datetime | None,
) -> tuple[int, bool]:
    """The cost, and whether it depends on the clock."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if not operations:
        return 0, False
    walker = _Walker(schema, document, variables or {}, now or datetime.now(timezone.utc))
    return int(max(walker.operation_cost(o) for o in operations) + 0.999), walker.clock.read


# Costs of documents that do not depend on the clock, per (text, operation, variables): a
# dashboard sends the same few documents again and again, and walking one costs ~2 ms. Bounded in
# entries and in each document's size; shared by the serving loop and the lane's thread.
COST_CACHE_SIZE = 512
COST_CACHE_MAX_DOCUMENT = 16 * 1024


def cost_limiter(max_cost: int, clock: Callable[[], datetime] | None = None) -> type[SchemaExtension]:
    known: OrderedDict[tuple[str, str | None, str], int] = OrderedDict()
    lock = threading.Lock()

    class QueryCost(SchemaExtension):
        requested: int | None = None

        def _cost(self) -> int | None:
            ec = self.execution_context
            if self.requested is None and ec.graphql_document is not None:
                variables = ec.variables if isinstance(ec.variables, Mapping) else {}
                key = None
                if ec.query is not None and len(ec.query) <= COST_CACHE_MAX_DOCUMENT:
                    key = (ec.query, ec.operation_name, json.dumps(variables, sort_keys=True, default=str))
                    with lock:
                        cost = known.get(key)
                        if cost is not None:
                            known.move_to_end(key)
                    if cost is not None:
                        self.requested = cost
                        return cost
                now = clock() if clock is not None else None
                cost, timed = _cost_and_clock(ec.schema._schema, ec.graphql_document, variables, ec.operation_name, now)
                if key is not None and not timed:
                    with lock:
                        known[key] = cost
                        if len(known) > COST_CACHE_SIZE:
                            known.popitem(last=False)
                self.requested = cost
            return self.requested

        def on_execute(self) -> Iterator[None]:
            requested = self._cost()
            if requested is not None and requested > max_cost:
                self.execution_context.result = ExecutionResult(data=None, errors=[GraphQLError(
                    f"The query costs {requested}, over the limit of {max_cost}: ask for fewer days, "
                    "items or aliases.",
                    extensions={"code": "QUERY_TOO_EXPENSIVE", "cost": requested, "limit": max_cost},
                )])
            yield

        def get_results(self) -> dict[str, Any]:
            return {"cost": {"requested": self._cost() or 0, "limit": max_cost}}

    return QueryCost


__all__ = [
    "DEFAULT_MAX_QUERY_COST", "RULES", "Call", "Rule", "arg", "cost_limiter", "parent_arg", "query_cost",
    "report_buckets", "report_groups",
]
