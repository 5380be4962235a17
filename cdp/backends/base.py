"""The warehouse interface every step talks to.

One base class with capabilities as class attributes; a backend overrides only what differs
between engines (after SQLMesh's engine adapters). SQL arrives as GoogleSQL and each backend
renders it for its own engine (see `cdp.sql`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, Self

import pyarrow as pa
from sqlglot import exp

from cdp import sql as sqlmod

Params = Mapping[str, Any]
WriteMode = Literal["replace", "append"]


class Backend(ABC):
    #: sqlglot dialect the engine speaks.
    dialect: ClassVar[str]
    #: Whether `events_*` wildcard tables exist natively (else `shard_scan` unions shards).
    native_wildcard_tables: ClassVar[bool] = False
    #: Whether `dry_run_bytes` returns a real figure.
    reports_bytes_scanned: ClassVar[bool] = False

    # ---- naming -------------------------------------------------------------------------
    @abstractmethod
    def resolve_table(self, table: exp.Table) -> exp.Table:
        """Point an authored table reference (`ga4.x` or `x`) at its physical location."""

    def render(self, sql: str | exp.Expression, *, in_transaction: bool = False) -> str:
        """GoogleSQL in, this engine's SQL out, table names resolved.

        Text is rendered once per backend and cached: flows re-run the same statements and
        sqlglot's generator would otherwise dominate small incremental runs. `in_transaction`
        refuses DDL on permanent tables, which BigQuery rejects inside a transaction; checking
        it on every engine keeps the DuckDB tests honest about production.
        """
        if isinstance(sql, str):
            cache: dict[tuple[str, bool], str] = self.__dict__.setdefault("_rendered", {})
            key = (sql, in_transaction)
            if key not in cache:
                cache[key] = self._render_trees(sqlmod.parse(sql), in_transaction)
            return cache[key]
        return self._render_trees([sql.copy()], in_transaction)

    def _render_trees(self, trees: list[exp.Expression], in_transaction: bool) -> str:
        out = []
        for tree in trees:
            if in_transaction:
                sqlmod.ensure_transactional(tree)
            tree = sqlmod.resolve_tables(tree, self.resolve_table)
            tree = self.dialect_hooks(tree, in_transaction=in_transaction)
            out.append(sqlmod.to_sql(tree, self.dialect))
        return ";\n".join(out)

    def dialect_hooks(
        self, tree: exp.Expression, *, in_transaction: bool = False
    ) -> exp.Expression:
        """Named rewrites where transpiling alone is wrong or slow. None by default."""
        return tree

    # ---- statements ---------------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str | exp.Expression, params: Params | None = None) -> None:
        """Run a statement (or a script of several) for its effect."""

    @abstractmethod
    def query(self, sql: str | exp.Expression, params: Params | None = None) -> pa.Table:
        """Run a query and return its whole result as Arrow (use for small results)."""

    @abstractmethod
    def query_batches(
        self, sql: str | exp.Expression, params: Params | None = None, batch_size: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query result in bounded batches (use for deltas to deliver)."""

    @abstractmethod
    def atomic(
        self, statements: Sequence[str | exp.Expression], params: Params | None = None
    ) -> None:
        """Run statements as one transaction: all take effect or none do."""

    def column_names(self, table: str) -> list[str]:
        """The columns of `table` (authored name), in order; reads no rows."""
        empty = exp.select("*").from_(table_ref(table)).where(exp.false())
        return list(self.query(empty).column_names)

    def scalar(self, sql: str | exp.Expression, params: Params | None = None) -> Any:
        table = self.query(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def dry_run_bytes(self, sql: str | exp.Expression, params: Params | None = None) -> int | None:
        """Bytes a statement would scan, where the engine can tell; None otherwise."""
        return None

    # ---- tables -------------------------------------------------------------------------
    @abstractmethod
    def load_arrow(
        self, table: str, data: pa.Table | pa.RecordBatchReader, mode: WriteMode = "append"
    ) -> int:
        """Write Arrow data into `table` (authored name); returns rows written."""

    @abstractmethod
    def table_exists(self, table: str) -> bool: ...

    @abstractmethod
    def export_tables(self) -> list[str]:
        """Names of the tables in the GA4 export dataset (metadata only, no scan)."""

    @abstractmethod
    def shard_scan(self, prefix: str, suffixes: Sequence[str]) -> exp.Expression:
        """A FROM-able relation over the named export shards, with a `_TABLE_SUFFIX` column.

        BigQuery reads the wildcard table with a `_TABLE_SUFFIX` filter, so only those shards
        are scanned; engines without wildcard tables union the shards explicitly.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def table_ref(name: str) -> exp.Table:
    """Parse an authored table name (`ga4.events_20240101`, `stg_events`)."""
    return exp.to_table(name, dialect=sqlmod.SOURCE_DIALECT)
