"""Plan rows (Arrow) -> per-row metadata and destination payloads (dicts), column-wise.

Timestamps become ISO 8601 strings in Arrow (UTC, `Z`): converting them to Python datetimes
one by one was the slowest step, and both Salesforce APIs take the strings as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T")
META = (
    "_cdp_op", "_cdp_key", "_cdp_hash", "_cdp_prev_hash", "_cdp_status", "_cdp_remote_id",
    "_cdp_owned", "_cdp_attempts", "_cdp_first_sent_at",
)  # fmt: skip


def _zip(columns: list[list[Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    keys = tuple(names)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def rows_meta(table: pa.Table) -> list[dict[str, Any]]:
    return _zip([table.column(name).to_pylist() for name in META], META)


def _values(column: pa.ChunkedArray) -> list[Any]:
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz:
            utc = column.cast(pa.timestamp(kind.unit, "UTC"))
            return pc.strftime(utc, "%Y-%m-%dT%H:%M:%SZ").to_pylist()
        return pc.strftime(column, "%Y-%m-%dT%H:%M:%S").to_pylist()
    if pa.types.is_date(kind):
        return column.cast(pa.string()).to_pylist()
    return column.to_pylist()


def payloads(table: pa.Table, fields: Sequence[str], prefix: str = "v") -> list[dict[str, Any]]:
    """Column `{prefix}{i}` -> field `fields[i]`; converted per column, then zipped."""
    if not fields:
        return [{} for _ in range(table.num_rows)]
    return _zip([_values(table.column(f"{prefix}{i}")) for i in range(len(fields))], fields)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
