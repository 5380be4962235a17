"""Small sqlglot builders shared by the audience, trigger and funnel compilers."""

from __future__ import annotations

from sqlglot import exp

from cdp import sql as sqlmod


def param(name: str) -> exp.Parameter:
    """A GoogleSQL query parameter `@name` (DuckDB renders it `$name`)."""
    return exp.Parameter(this=exp.Var(this=name))


def qualify(tree: exp.Expr, table: str) -> exp.Expr:
    """Every unqualified column of `tree` qualified with `table` (for joins and subqueries)."""

    def visit(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            return exp.column(node.name, table=table)
        return node

    return tree.copy().transform(visit)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def lit(value: str | int | float | bool) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def countif(condition: exp.Expr) -> exp.Expr:
    return exp.CountIf(this=condition)


def max_if(condition: exp.Expr, value: exp.Expr) -> exp.Expr:
    return exp.Max(this=exp.If(this=condition, true=value, false=exp.Null()))


def coalesce(*values: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=values[0], expressions=list(values[1:]))


def as_string(value: exp.Expr) -> exp.Expr:
    return exp.Cast(this=value, to=exp.DataType.build("STRING", dialect=sqlmod.SOURCE_DIALECT))


def concat(*parts: exp.Expr) -> exp.Expr:
    return exp.Concat(expressions=list(parts), safe=False)


def ts_micros(value: exp.Expr) -> exp.Expr:
    """`TIMESTAMP_MICROS(value)`."""
    return exp.UnixToTime(this=value, scale=exp.UnixToTime.MICROS)


def md5_hex(value: exp.Expr) -> exp.Expr:
    """`TO_HEX(MD5(value))`, lowercase hex on both engines (DuckDB renders it `MD5(value)`)."""
    return exp.MD5(this=value)


def not_consent_denied(table: str | None = None) -> exp.Expr:
    """GA4 rows recorded with analytics_storage = 'No' stay out unless a spec opts in."""
    return exp.NEQ(this=coalesce(col("analytics_storage", table), lit("")), expression=lit("No"))
