"""The cost of a query, computed from the document before anything runs.

Every field costs its own `cost` once per time it is resolved, and a list field resolves its
children once per item it is expected to hold (`size`). So a document costs

    cost(selection, n) = Σ over its fields f:  n × (own(f) + cost(f's selection, n × size(f)))

with n = 1 at the root. Aliases count as separate fields, fragments are expanded where they are
spread, and variables are resolved to the values sent (or their defaults). A field that has no
rule costs `LEAF` when it is a scalar and `OBJECT` otherwise, with size 1.

Rules live in `RULES`, keyed `"Type.field"` with GraphQL names. `size` is an int, or a function
of the field's arguments and its parent field's arguments (both as sent, defaults filled in by the
helpers below). To cost a new field, add a line. Two fields planned elsewhere, for example:

    "Query.usage": Rule(cost=20, size=lambda a, p: buckets(a["range"], a["granularity"])),
    "UsageReport.groups": Rule(size=parent_arg("limit", default=10, cap=100)),
    "Query.requests": Rule(cost=10, size=arg("first", default=20, cap=100)),

(`buckets` being whatever counts a range's buckets at a granularity.) The unit is roughly "one
value in the answer"; a field that reads the database or the cache costs about ten.

The total comes back as `extensions.cost = {requested, limit}` on every response; over the limit
the document is refused with QUERY_TOO_EXPENSIVE and nothing runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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
Size = Callable[[Args, Args], int]

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


def arg(name: str, *, default: int, cap: int) -> Size:
    """The list holds as many items as the field's argument `name` says (bounded by `cap`)."""
    return lambda args, _parent: _int(args.get(name), default, cap)


def parent_arg(name: str, *, default: int, cap: int) -> Size:
    """The list holds as many items as its parent field's argument `name` says."""
    return lambda _args, parent: _int(parent.get(name), default, cap)


@dataclass(frozen=True)
class Rule:
    cost: float = OBJECT
    size: int | Size = 1

    def size_of(self, args: Args, parent: Args) -> int:
        return self.size if isinstance(self.size, int) else self.size(args, parent)


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
}


class _Walker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]) -> None:
        self.schema = schema
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
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, parent_args: Args, n: float,
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
            total += n * rule.cost
            if node.selection_set is not None:
                total += self.selection_cost(
                    node.selection_set, field_type, args, n * rule.size_of(args, parent_args), seen
                )
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
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None, operation_name: str | None
) -> int:
    """The cost of the operation a request would run (the named one, or the only one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if not operations:
        return 0
    walker = _Walker(schema, document, variables or {})
    return int(max(walker.operation_cost(o) for o in operations) + 0.999)


def cost_limiter(max_cost: int) -> type[SchemaExtension]:
    class QueryCost(SchemaExtension):
        requested: int | None = None

        def _cost(self) -> int | None:
            ec = self.execution_context
            if self.requested is None and ec.graphql_document is not None:
                variables = ec.variables if isinstance(ec.variables, Mapping) else {}
                self.requested = query_cost(ec.schema._schema, ec.graphql_document, variables, ec.operation_name)
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


__all__ = ["DEFAULT_MAX_QUERY_COST", "RULES", "Rule", "arg", "cost_limiter", "parent_arg", "query_cost"]
