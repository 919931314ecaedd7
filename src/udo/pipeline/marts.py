"""What every engine needs to agree on about Gold marts: expressions and output types.

A measure's expression is columns and numbers combined with + - * / (or '*': count
rows). Types follow SQL: integers stay integers, decimals stay exact decimals (scale of a
product is the sum of scales, of a sum the larger scale), division and floats give
float64. Means of decimals are rounded half away from zero to the input's scale.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pyarrow as pa

from udo.domain.marts import MartSpec, Measure
from udo.errors import SpecError
from udo.pipeline.engines.base import SILVER_META


@dataclass(frozen=True)
class Col:
    """A column reference."""

    name: str


@dataclass(frozen=True)
class Num:
    """A numeric constant."""

    value: int | float


@dataclass(frozen=True)
class BinOp:
    """left op right, op one of + - * /."""

    op: str
    left: Node
    right: Node


Node = Col | Num | BinOp
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse_measure(expr: str) -> Node | None:
    """The expression tree, or None for '*' (count rows)."""
    if expr.strip() == "*":
        return None
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as exc:
        raise SpecError([("measure", f"not a valid expression {expr!r}: {exc.msg}")]) from exc

    def walk(node: ast.AST) -> Node:
        if isinstance(node, ast.Name):
            return Col(node.id)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return Num(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return BinOp(_OPS[type(node.op)], walk(node.left), walk(node.right))
        raise SpecError([("measure", f"only columns, numbers and + - * / in {expr!r}")])

    return walk(tree)


def columns_of(node: Node | None) -> set[str]:
    """Columns an expression reads."""
    if node is None or isinstance(node, Num):
        return set()
    if isinstance(node, Col):
        return {node.name}
    return columns_of(node.left) | columns_of(node.right)


def expr_type(node: Node | None, schema: pa.Schema) -> pa.DataType:
    """Arrow type of an expression over `schema`."""
    if node is None:
        return pa.int64()
    if isinstance(node, Num):
        return pa.int64() if isinstance(node.value, int) else pa.float64()
    if isinstance(node, Col):
        if node.name not in schema.names:
            raise SpecError([("measure", f"unknown column {node.name!r}")])
        return schema.field(node.name).type
    lt, rt = expr_type(node.left, schema), expr_type(node.right, schema)
    if node.op == "/" or pa.types.is_floating(lt) or pa.types.is_floating(rt):
        return pa.float64()
    if pa.types.is_decimal(lt) or pa.types.is_decimal(rt):
        ls = lt.scale if pa.types.is_decimal(lt) else 0
        rs = rt.scale if pa.types.is_decimal(rt) else 0
        scale = ls + rs if node.op == "*" else max(ls, rs)
        return pa.decimal128(38, scale)
    if pa.types.is_integer(lt) and pa.types.is_integer(rt):
        return pa.int64()
    raise SpecError([("measure", f"cannot apply {node.op} to {lt} and {rt}")])


def measure_type(measure: Measure, schema: pa.Schema) -> pa.DataType:
    """Arrow type of a measure's result."""
    if measure.fn in ("count", "count_distinct"):
        return pa.int64()
    t = expr_type(parse_measure(measure.expr), schema)
    if measure.fn in ("min", "max"):
        return t
    if pa.types.is_decimal(t):
        return pa.decimal128(38, t.scale)
    if measure.fn == "mean" or pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_integer(t):
        return pa.int64()
    raise SpecError([("measure", f"cannot {measure.fn} a {t} column")])


def joined_schema(mart: MartSpec, schemas: dict[str, pa.Schema]) -> pa.Schema:
    """Columns available to a mart: the source's, then each join's `columns`."""
    if mart.source not in schemas:
        raise SpecError([(f"marts.{mart.name}.source", f"no Silver table {mart.source!r}")])
    fields = [f for f in schemas[mart.source] if f.name not in SILVER_META]
    names = {f.name for f in fields}
    for j in mart.joins:
        js = schemas.get(j.table)
        if js is None:
            raise SpecError([(f"marts.{mart.name}.joins", f"no Silver table {j.table!r}")])
        for col in j.columns:
            if col in names:
                continue
            if col not in js.names:
                raise SpecError([(f"marts.{mart.name}.joins", f"{j.table} has no column {col!r}")])
            fields.append(js.field(col))
            names.add(col)
    return pa.schema(fields)


def mart_schema(mart: MartSpec, schemas: dict[str, pa.Schema]) -> pa.Schema:
    """The mart's output schema: group columns, then measures."""
    joined = joined_schema(mart, schemas)
    fields = []
    for g in mart.group_by:
        if g.column not in joined.names:
            raise SpecError([(f"marts.{mart.name}.group_by", f"unknown column {g.column!r}")])
        t = joined.field(g.column).type
        fields.append(pa.field(g.output, pa.date32() if g.grain else t))
    for name, m in mart.measures.items():
        fields.append(pa.field(name, measure_type(m, joined)))
    return pa.schema(fields)
