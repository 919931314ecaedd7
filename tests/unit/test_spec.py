"""DatasetSpec: located validation errors, round trips, JSON Schema and scaling."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from udo.domain.spec import DatasetSpec
from udo.errors import SpecError
from udo.generate.presets import load_preset
from udo.generate.sources import faker_problems

Mutation = Callable[[dict[str, Any]], None]


def base_spec() -> dict[str, Any]:
    """A small valid spec using every cross-reference kind (fk, lookup, aggregate, by)."""
    return {
        "name": "shop",
        "seed": 1,
        "primary": "orders",
        "tables": {
            "customers": {
                "rows": 10,
                "key": "customer_id",
                "fields": {
                    "customer_id": {"type": "int", "sequence": {}},
                    "name": {"type": "string", "faker": "first_name"},
                    "tier": {"type": "category", "choices": {"gold": 1, "silver": 3}},
                },
            },
            "products": {
                "rows": 50,
                "scales": False,
                "key": "sku",
                "fields": {
                    "sku": {"type": "string", "pattern": "SKU-####"},
                    "price": {"type": "decimal(10,2)", "min": 1, "max": 99, "choices": [5, 10]},
                },
            },
            "orders": {
                "rows": 100,
                "key": "order_id",
                "fields": {
                    "order_id": {"type": "int", "sequence": {"start": 1}},
                    "customer_id": {"type": "int", "fk": {"table": "customers"}},
                    "tier": {"type": "category", "lookup": {"fk": "customer_id", "column": "tier"}},
                    "amount": {
                        "type": "float",
                        "min": 0,
                        "max": 100,
                        "distribution": {
                            "kind": "lognormal",
                            "mean": {"by": "tier", "values": {"gold": 3.0}, "default": 2.0},
                        },
                    },
                    "label": {"type": "string", "expr": "str(order_id) + '-' + tier"},
                    "total": {
                        "type": "decimal(10,2)",
                        "aggregate": {"table": "items", "expr": "qty * 2"},
                    },
                },
            },
            "items": {
                "per_parent": {"table": "orders", "count": {"kind": "poisson", "lam": 1.5}},
                "fields": {
                    "order_id": {"type": "int", "fk": {"table": "orders"}},
                    "qty": {
                        "type": "int",
                        "min": 1,
                        "max": 5,
                        "distribution": {"kind": "uniform"},
                    },
                },
            },
        },
    }


def fields(data: dict[str, Any], table: str) -> dict[str, Any]:
    out: dict[str, Any] = data["tables"][table]["fields"]
    return out


def problems_of(mutate: Mutation, checks: list[Any] | None = None) -> list[tuple[str, str]]:
    data = base_spec()
    mutate(data)
    with pytest.raises(SpecError) as info:
        DatasetSpec.from_dict(data, checks=checks or [])
    return info.value.problems


def test_base_spec_is_valid() -> None:
    spec = DatasetSpec.from_dict(base_spec(), checks=[faker_problems])
    assert list(spec.tables) == ["customers", "products", "orders", "items"]
    assert spec.table_order().index("customers") < spec.table_order().index("orders")
    assert spec.table_order().index("orders") < spec.table_order().index("items")


def _set(path: list[str], value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _add_field(table: str, name: str, spec: dict[str, Any]) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        fields(data, table)[name] = spec

    return mutate


def _many(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


ORDERS = ["tables", "orders", "fields"]

LOCATED_CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "unknown field in expr",
        _set([*ORDERS, "label", "expr"], "str(order_id) + nope"),
        "tables.orders.fields.label.expr",
        "unknown field 'nope'",
    ),
    (
        "unknown lookup column",
        _set([*ORDERS, "tier", "lookup", "column"], "zzz"),
        "tables.orders.fields.tier.lookup.column",
        "unknown field 'zzz'",
    ),
    (
        "lookup fk that is not an fk field",
        _set([*ORDERS, "tier", "lookup", "fk"], "amount"),
        "tables.orders.fields.tier.lookup.fk",
        "'amount' is not an fk field",
    ),
    (
        "unknown field in distribution by",
        _set([*ORDERS, "amount", "distribution", "mean", "by"], "nope"),
        "tables.orders.fields.amount.distribution.mean.by",
        "unknown field 'nope'",
    ),
    (
        "unknown fk table",
        _set([*ORDERS, "customer_id", "fk", "table"], "clients"),
        "tables.orders.fields.customer_id.fk.table",
        "unknown table 'clients'",
    ),
    (
        "unknown per_parent table",
        _set(["tables", "items", "per_parent", "table"], "baskets"),
        "tables.items.per_parent.table",
        "unknown table 'baskets'",
    ),
    (
        "unknown aggregate table",
        _set([*ORDERS, "total", "aggregate", "table"], "lines"),
        "tables.orders.fields.total.aggregate.table",
        "unknown table 'lines'",
    ),
    (
        "unknown field in aggregate expr",
        _set([*ORDERS, "total", "aggregate", "expr"], "qty * price"),
        "tables.orders.fields.total.aggregate.expr",
        "unknown field 'price' of items",
    ),
    (
        "fk cycle a -> b -> a",
        _add_field("customers", "last_order", {"type": "int", "fk": {"table": "orders"}}),
        "tables.customers",
        "foreign keys form a cycle: customers -> orders -> customers",
    ),
    (
        "min > max",
        _set([*ORDERS, "amount", "min"], 500),
        "tables.orders.fields.amount",
        "min 500 > max 100",
    ),
    (
        "unique choices with too few values",
        _add_field(
            "customers", "code", {"type": "string", "unique": True, "choices": ["a", "b", "c"]}
        ),
        "tables.customers.fields.code",
        "unique choices has 3 values, fewer than 10 rows",
    ),
    (
        "unique pattern with too few values",
        _many(
            _set(["tables", "orders", "rows"], 1000),
            _add_field("orders", "ref", {"type": "string", "unique": True, "pattern": "##"}),
        ),
        "tables.orders.fields.ref",
        "unique pattern has 100 values, fewer than 1,000 rows",
    ),
    (
        "unique faker",
        _set(["tables", "customers", "fields", "name", "unique"], True),
        "tables.customers.fields.name",
        "'faker' values cannot be made unique",
    ),
    (
        "unique int range too small",
        _add_field(
            "orders",
            "slot",
            {
                "type": "int",
                "unique": True,
                "min": 1,
                "max": 50,
                "distribution": {"kind": "uniform"},
            },
        ),
        "tables.orders.fields.slot",
        "unique int range has 50 values",
    ),
    (
        "unknown type",
        _set(["tables", "customers", "fields", "name", "type"], "text"),
        "tables.customers.fields.name.type",
        "unknown type 'text'",
    ),
    (
        "decimal precision out of range",
        _set([*ORDERS, "total", "type"], "decimal(40,2)"),
        "tables.orders.fields.total.type",
        "decimal(40,2)",
    ),
    (
        "two value sources",
        _set(["tables", "customers", "fields", "name", "pattern"], "??"),
        "tables.customers.fields.name",
        "give exactly one value source, not faker, pattern",
    ),
    (
        "no value source",
        _add_field("customers", "age", {"type": "int"}),
        "tables.customers.fields.age",
        "no value source",
    ),
    (
        "key that is not sequence/uuid/pattern",
        _set(["tables", "customers", "key"], "name"),
        "tables.customers.key",
        "a key is a sequence, uuid or pattern field",
    ),
    (
        "unknown key field",
        _set(["tables", "customers", "key"], "id"),
        "tables.customers.key",
        "unknown field 'id'",
    ),
    (
        "unknown primary table",
        _set(["primary"], "sales"),
        "primary",
        "unknown table 'sales'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "location", "message"),
    [pytest.param(m, loc, msg, id=name) for name, m, loc, msg in LOCATED_CASES],
)
def test_problem_is_located(mutate: Mutation, location: str, message: str) -> None:
    problems = problems_of(mutate)
    matching = [msg for loc, msg in problems if loc == location]
    assert matching, f"no problem at {location}: {problems}"
    assert any(message in msg for msg in matching), problems


def test_source_that_cannot_make_the_type_is_located() -> None:
    problems = problems_of(_set([*ORDERS, "order_id", "type"], "bool"))
    assert ("tables.orders.fields.order_id", "source 'sequence' cannot make a bool field") in (
        problems
    )


def test_unknown_faker_method_is_located_by_the_faker_check() -> None:
    data = base_spec()
    fields(data, "customers")["name"]["faker"] = "no_such_provider"
    # Without the check the domain cannot know Faker's methods: the spec is valid.
    DatasetSpec.from_dict(copy.deepcopy(data))
    with pytest.raises(SpecError) as info:
        DatasetSpec.from_dict(data, checks=[faker_problems])
    assert info.value.problems == [
        ("tables.customers.fields.name.faker", "unknown Faker method 'no_such_provider'")
    ]


def test_private_faker_method_is_rejected() -> None:
    data = base_spec()
    fields(data, "customers")["name"]["faker"] = {"method": "_get_provider"}
    with pytest.raises(SpecError) as info:
        DatasetSpec.from_dict(data, checks=[faker_problems])
    assert [loc for loc, _ in info.value.problems] == ["tables.customers.fields.name.faker"]


def test_several_problems_are_reported_together() -> None:
    def mutate(data: dict[str, Any]) -> None:
        fields(data, "orders")["amount"]["min"] = 500
        fields(data, "orders")["customer_id"]["fk"]["table"] = "clients"
        fields(data, "customers")["code"] = {
            "type": "string",
            "unique": True,
            "choices": ["a", "b", "c"],
        }
        data["tables"]["items"]["per_parent"]["min"] = 11

    problems = problems_of(mutate)
    locations = {loc for loc, _ in problems}
    assert {
        "tables.orders.fields.amount",
        "tables.orders.fields.customer_id.fk.table",
        "tables.customers.fields.code",
        "tables.items.per_parent",
    } <= locations
    error = SpecError(problems)
    assert f"({len(problems)} problems)" in str(error)
    assert "tables.orders.fields.customer_id.fk.table: unknown table 'clients'" in str(error)


def test_structural_errors_are_located_and_all_reported() -> None:
    data = base_spec()
    fields(data, "customers")["name"]["type"] = "text"
    fields(data, "orders")["amount"]["null_rate"] = 1.5
    data["tables"]["orders"]["colour"] = "red"
    with pytest.raises(SpecError) as info:
        DatasetSpec.from_dict(data)
    locations = {loc for loc, _ in info.value.problems}
    assert {
        "tables.customers.fields.name.type",
        "tables.orders.fields.amount.null_rate",
        "tables.orders.colour",
    } <= locations


def test_yaml_syntax_error_is_located_by_line() -> None:
    text = "name: x\ntables:\n  a: {rows: 1\n  b: 2\n"
    with pytest.raises(SpecError) as info:
        DatasetSpec.from_text(text)
    [(location, message)] = info.value.problems
    assert location.startswith("line 4, column ")
    assert message.startswith("not valid YAML")


def test_a_spec_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(SpecError, match="a spec is a mapping"):
        DatasetSpec.from_text("- just\n- a list\n")


def test_unreadable_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read spec file"):
        DatasetSpec.load(tmp_path / "missing.yaml")


def test_expr_constants_pass_validation() -> None:
    data = base_spec()
    fields(data, "orders")["label"]["expr"] = "'big' if amount > 10 else null"
    DatasetSpec.from_dict(data)


# ------------------------------------------------------------------ round trips
def test_preset_yaml_round_trip_keeps_the_spec_hash() -> None:
    preset = load_preset("ecommerce")
    again = DatasetSpec.from_text(preset.to_yaml())
    assert again.spec_hash() == preset.spec_hash()
    assert again.to_yaml() == preset.to_yaml()


def test_preset_yaml_round_trip_equals_the_preset() -> None:
    preset = load_preset("ecommerce")
    assert DatasetSpec.from_text(preset.to_yaml()) == preset


def test_spec_hash_changes_with_the_spec() -> None:
    preset = load_preset("ecommerce")
    assert preset.with_seed(7).spec_hash() != preset.spec_hash()
    assert preset.scaled(10).spec_hash() != preset.spec_hash()
    assert load_preset("ecommerce").spec_hash() == preset.spec_hash()


def test_json_round_trip_from_model_dump() -> None:
    preset = load_preset("ecommerce")
    assert DatasetSpec.from_dict(preset.model_dump()) == preset


def test_json_schema_describes_tables() -> None:
    schema = DatasetSpec.json_schema()
    assert isinstance(schema, dict)
    assert "tables" in schema["properties"]
    assert "name" in schema["required"]
    assert "FieldSpec" in schema["$defs"]


# --------------------------------------------------------------------- scaling
def test_scaled_sets_primary_and_scales_only_scaling_tables() -> None:
    preset = load_preset("ecommerce")
    assert preset.primary_table() == "orders"
    base_orders = preset.tables["orders"].rows
    base_customers = preset.tables["customers"].rows
    assert base_orders and base_customers
    scaled = preset.scaled(1000)
    assert scaled.tables["orders"].rows == 1000
    assert scaled.tables["customers"].rows == round(base_customers * 1000 / base_orders)
    assert scaled.tables["products"].rows == preset.tables["products"].rows
    assert scaled.tables["order_items"].rows is None
    assert scaled.tables["order_items"].per_parent == preset.tables["order_items"].per_parent
    assert scaled.max_rows("order_items") == 1000 * 12


def test_scaled_never_drops_a_scaling_table_to_zero() -> None:
    spec = DatasetSpec.from_dict(base_spec()).scaled(1)
    assert spec.tables["orders"].rows == 1
    assert spec.tables["customers"].rows == 1
    assert spec.tables["products"].rows == 50


def test_primary_defaults_to_largest_fixed_table() -> None:
    data = base_spec()
    del data["primary"]
    spec = DatasetSpec.from_dict(data)
    assert spec.primary_table() == "orders"
    assert spec.scaled(300).tables["customers"].rows == 30
