"""A small, safe expression language compiled to polars expressions.

Fields of the row are names; constants are numbers, strings, true/false/null. Operators:
``+ - * / // % **``, comparisons, ``and or not``, ``a if cond else b``. Functions are the
ones in `FUNCTIONS`. Nothing is evaluated by Python: the tree is translated to polars,
so an expression runs vectorised over a whole chunk.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import polars as pl

from udo.errors import SpecError


def _slug(e: pl.Expr) -> pl.Expr:
    return (
        e.cast(pl.String)
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", ".")
        .str.strip_chars(".")
    )


FUNCTIONS: dict[str, Callable[..., pl.Expr]] = {
    "lower": lambda e: e.cast(pl.String).str.to_lowercase(),
    "upper": lambda e: e.cast(pl.String).str.to_uppercase(),
    "title": lambda e: e.cast(pl.String).str.to_titlecase(),
    "strip": lambda e: e.cast(pl.String).str.strip_chars(),
    "slug": _slug,
    "str": lambda e: e.cast(pl.String),
    "int": lambda e: e.cast(pl.Int64),
    "float": lambda e: e.cast(pl.Float64),
    "round": lambda e, n=0: e.round(n),
    "abs": lambda e: e.abs(),
    "left": lambda e, n: e.cast(pl.String).str.slice(0, n),
    "replace": lambda e, a, b: e.cast(pl.String).str.replace_all(a, b, literal=True),
    "concat": lambda *es: pl.concat_str([x.cast(pl.String) for x in es]),
    "coalesce": lambda *es: pl.coalesce(list(es)),
    "length": lambda e: e.cast(pl.String).str.len_chars(),
    "year": lambda e: e.dt.year(),
    "month": lambda e: e.dt.month(),
    "day": lambda e: e.dt.day(),
    "date": lambda e: e.cast(pl.Date),
    "days": lambda e: pl.duration(days=e),
    "hours": lambda e: pl.duration(hours=e),
    "minutes": lambda e: pl.duration(minutes=e),
    "least": lambda *es: pl.min_horizontal(list(es)),
    "greatest": lambda *es: pl.max_horizontal(list(es)),
}


CONSTANT_ARGS: dict[str, dict[int, type]] = {
    "round": {1: int},
    "left": {1: int},
    "replace": {1: str, 2: str},
}
"""Arguments that must be constants of a type (by position), passed to polars as values."""


_BINOPS: dict[type[ast.operator], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a.pow(b),
}
_CMPOPS: dict[type[ast.cmpop], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


class _Compiler:
    def __init__(self, source: str, columns: set[str] | None) -> None:
        self.source = source
        self.columns = columns

    def fail(self, msg: str) -> SpecError:
        return SpecError([("expr", f"{msg} in {self.source!r}")])

    def compile(self, node: ast.AST) -> pl.Expr:
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.Constant):
            if node.value is not None and type(node.value) not in (int, float, str, bool):
                raise self.fail(f"constant {node.value!r} is not allowed")
            return pl.lit(node.value)
        if isinstance(node, ast.Name):
            if node.id in ("true", "false", "null"):
                return pl.lit({"true": True, "false": False, "null": None}[node.id])
            if self.columns is not None and node.id not in self.columns:
                raise self.fail(f"unknown field {node.id!r}")
            return pl.col(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](self.compile(node.left), self.compile(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.Not):
                return ~operand
            if isinstance(node.op, ast.UAdd):
                return operand
        if isinstance(node, ast.BoolOp):
            values = [self.compile(v) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.Compare):
            left = self.compile(node.left)
            out_expr: pl.Expr | None = None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if type(op) not in _CMPOPS:
                    raise self.fail(f"operator {type(op).__name__} is not supported")
                right = self.compile(right_node)
                part = _CMPOPS[type(op)](left, right)
                out_expr = part if out_expr is None else out_expr & part
                left = right
            assert out_expr is not None
            return out_expr
        if isinstance(node, ast.IfExp):
            return (
                pl.when(self.compile(node.test))
                .then(self.compile(node.body))
                .otherwise(self.compile(node.orelse))
            )
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = getattr(node.func, "id", "?")
                raise self.fail(
                    f"unknown function {name!r} (known: {', '.join(sorted(FUNCTIONS))})"
                )
            if node.keywords:
                raise self.fail("keyword arguments are not supported")
            consts = CONSTANT_ARGS.get(node.func.id, {})
            args: list[Any] = []
            for i, a in enumerate(node.args):
                if i in consts:
                    kind = consts[i]
                    if not isinstance(a, ast.Constant) or type(a.value) is not kind:
                        raise self.fail(
                            f"argument {i + 1} of {node.func.id}() is a {kind.__name__} constant"
                        )
                    args.append(a.value)
                else:
                    args.append(self.compile(a))
            try:
                return FUNCTIONS[node.func.id](*args)
            except TypeError as exc:
                raise self.fail(f"wrong number of arguments to {node.func.id}()") from exc
        raise self.fail(f"{type(node).__name__} is not allowed")


def compile_expr(source: str, columns: set[str] | None = None) -> pl.Expr:
    """Translate an expression to a polars expression; `SpecError` if it is not allowed."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise SpecError([("expr", f"not a valid expression: {exc.msg} in {source!r}")]) from exc
    return _Compiler(source, columns).compile(tree)
