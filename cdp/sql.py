"""SQL is authored once, in GoogleSQL (BigQuery's dialect: production is the truth).

`render` parses it, points table references at the right datasets, applies the few named
dialect hooks a target needs, and prints it for that target. Table references in authored SQL:

- `ga4.<table>`  -> a table of the GA4 export dataset;
- `<table>`      -> a table of the product's own dataset.

User-supplied values never reach SQL text: they are query parameters (`@name`) or sqlglot
literals, which sqlglot quotes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlglot
from sqlglot import exp

from cdp.errors import BackendError

EXPORT_ALIAS = "ga4"
SOURCE_DIALECT = "bigquery"

TableResolver = Callable[[exp.Table], exp.Table]


@lru_cache(maxsize=512)
def _parse_cached(sql: str) -> tuple[exp.Expression, ...]:
    try:
        return tuple(
            e for e in sqlglot.parse(sql, read=SOURCE_DIALECT) if isinstance(e, exp.Expression)
        )
    except sqlglot.errors.ParseError as err:
        raise BackendError(f"SQL does not parse as GoogleSQL: {err}") from err


def parse(sql: str) -> list[exp.Expression]:
    """Parse GoogleSQL into fresh (mutable) expression trees."""
    return [e.copy() for e in _parse_cached(sql)]


def ensure_transactional(tree: exp.Expression) -> None:
    """Refuse DDL on permanent tables: BigQuery transactions take DML and temp tables only.

    Source: https://cloud.google.com/bigquery/docs/transactions ("Statements supported in
    transactions").
    """
    if isinstance(tree, exp.Create | exp.Drop | exp.Alter) and not tree.find(exp.TemporaryProperty):
        raise BackendError(
            f"{tree.key.upper()} on a permanent table cannot run inside a transaction: "
            f"{tree.sql(dialect='bigquery')[:80]}"
        )


def parse_one(sql: str) -> exp.Expression:
    statements = parse(sql)
    if len(statements) != 1:
        raise BackendError(f"expected one SQL statement, got {len(statements)}")
    return statements[0]


def resolve_tables(tree: exp.Expression, resolver: TableResolver) -> exp.Expression:
    """Rewrite every physical table reference (not CTE names) through `resolver`."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name and not node.args.get("catalog"):
            if not node.db and node.name in ctes:
                return node
            if isinstance(node.this, (exp.Identifier, exp.Var)):
                return resolver(node)
        return node

    return tree.transform(visit, copy=False)


def qualified(table: exp.Table, catalog: str | None, db: str | None) -> exp.Table:
    new = table.copy()
    new.set("db", exp.to_identifier(db) if db else None)
    new.set("catalog", exp.to_identifier(catalog) if catalog else None)
    return new


def to_sql(tree: exp.Expression, dialect: str) -> str:
    try:
        return tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as err:
        raise BackendError(f"SQL cannot be rendered for {dialect}: {err}") from err
