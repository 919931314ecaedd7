"""The expression language: what it computes and what it refuses."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from udo.errors import SpecError
from udo.generate.expr import compile_expr

ROWS = pl.DataFrame(
    {
        "a": [1, 2, 3],
        "b": [10.0, 2.5, -1.0],
        "s": ["Hello World", "x y", "Café Olé"],
        "n": [None, "v", None],
    }
)
COLUMNS = set(ROWS.columns)


def run(source: str, columns: set[str] | None = COLUMNS) -> list[Any]:
    return ROWS.select(compile_expr(source, columns).alias("r"))["r"].to_list()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a + b * 2", [21.0, 7.0, 1.0]),
        ("(a + 1) * 3 - 1", [5, 8, 11]),
        ("a // 2", [0, 1, 1]),
        ("a % 2", [1, 0, 1]),
        ("a ** 2", [1, 4, 9]),
        ("-a", [-1, -2, -3]),
        ("+a", [1, 2, 3]),
        ("b / 2", [5.0, 1.25, -0.5]),
    ],
)
def test_arithmetic(source: str, expected: list[Any]) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("s + '!'", ["Hello World!", "x y!", "Café Olé!"]),
        ("str(a) + '-' + s", ["1-Hello World", "2-x y", "3-Café Olé"]),
        ("lower(s)", ["hello world", "x y", "café olé"]),
        ("upper(s)", ["HELLO WORLD", "X Y", "CAFÉ OLÉ"]),
        ("title(lower(s))", ["Hello World", "X Y", "Café Olé"]),
        ("slug(s)", ["hello.world", "x.y", "caf.ol"]),
        (
            'slug("  Mary-Ann  O\'Neil " + s)',
            ["mary.ann.o.neil.hello.world", "mary.ann.o.neil.x.y", "mary.ann.o.neil.caf.ol"],
        ),
        ("left(s, 3)", ["Hel", "x y", "Caf"]),
        ("replace(s, ' ', '_')", ["Hello_World", "x_y", "Café_Olé"]),
        ("concat(s, '#', a)", ["Hello World#1", "x y#2", "Café Olé#3"]),
        ("coalesce(n, 'none')", ["none", "v", "none"]),
        ("length(s)", [11, 3, 8]),
        ("strip(' ' + s + '  ')", ["Hello World", "x y", "Café Olé"]),
    ],
)
def test_string_functions(source: str, expected: list[Any]) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("round(b / 3, 2)", [3.33, 0.83, -0.33]),
        ("round(b)", [10.0, 2.0, -1.0]),
        ("abs(b)", [10.0, 2.5, 1.0]),
        ("int(b)", [10, 2, -1]),
        ("float(a) / 2", [0.5, 1.0, 1.5]),
        ("least(a, b)", [1.0, 2.0, -1.0]),
        ("greatest(a, b)", [10.0, 2.5, 3.0]),
    ],
)
def test_numeric_functions(source: str, expected: list[Any]) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a > 1", [False, True, True]),
        ("a >= 2", [False, True, True]),
        ("a < 2", [True, False, False]),
        ("a <= 2", [True, True, False]),
        ("a == 2", [False, True, False]),
        ("a != 2", [True, False, True]),
        ("1 < a < 3", [False, True, False]),
        ("not (a > 1)", [True, False, False]),
        ("a > 1 and b > 0", [False, True, False]),
        ("a > 2 or b > 5", [True, False, True]),
        ("s == 'x y'", [False, True, False]),
    ],
)
def test_comparisons_and_logic(source: str, expected: list[Any]) -> None:
    assert run(source) == expected


def test_if_else() -> None:
    assert run("'big' if a > 1 else 'small'") == ["small", "big", "big"]
    assert run("b if b > 0 else 0.0") == [10.0, 2.5, 0.0]


def test_constants_true_false_null() -> None:
    assert run("true") == [True]
    assert run("false") == [False]
    assert run("null") == [None]
    assert run("coalesce(n, null, 'z')") == ["z", "v", "z"]


def test_without_columns_any_name_compiles() -> None:
    expr = compile_expr("price * qty")
    frame = pl.DataFrame({"price": [2.0], "qty": [3]})
    assert frame.select(expr.alias("r"))["r"].to_list() == [6.0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a.__class__", "Attribute is not allowed"),
        ("s.upper()", "unknown function"),
        ("lambda: 1", "Lambda is not allowed"),
        ("s[0]", "Subscript is not allowed"),
        ("[a, b]", "List is not allowed"),
        ("{'k': a}", "Dict is not allowed"),
        ("(y := 1)", "NamedExpr is not allowed"),
        ("f'{a}'", "JoinedStr is not allowed"),
        ("a @ b", "BinOp is not allowed"),
        ("a in b", "operator In is not supported"),
        ("a is None", "operator Is is not supported"),
        ("evil(a)", "unknown function 'evil'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("getattr(a, 'x')", "unknown function 'getattr'"),
        ("lower()", "wrong number of arguments to lower()"),
        ("round(b, n=1)", "keyword arguments are not supported"),
        ("round(b, 1.5)", "argument 2 of round()"),
        ("round(b, True)", "argument 2 of round()"),
        ("round(b, a)", "argument 2 of round()"),
        ("left(s, '3')", "argument 2 of left()"),
        ("replace(s, 1, 'x')", "argument 2 of replace()"),
        ("a if", "not a valid expression"),
        ("nope + 1", "unknown field 'nope'"),
    ],
)
def test_disallowed_expressions_raise_spec_error(source: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        compile_expr(source, COLUMNS)
    [(location, text)] = info.value.problems
    assert location == "expr"
    assert message in text


def test_unknown_field_only_checked_when_columns_given() -> None:
    compile_expr("nope + 1")
    with pytest.raises(SpecError, match="unknown field 'nope'"):
        compile_expr("nope + 1", {"a"})


@pytest.mark.parametrize("source", ["...", "1j", "b'x'"])
def test_unsupported_constants_raise_spec_error(source: str) -> None:
    with pytest.raises(SpecError):
        compile_expr(source, COLUMNS)
