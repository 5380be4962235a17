"""Conform any Arrow table that holds GA4 export rows to the exact `EVENTS_SCHEMA`.

Extracts drift from the schema in three ways: older exports lack columns added later
(`LATE_COLUMNS`, new sub-fields), newer or custom exports carry fields we do not know, and
readers disagree on physical types (INT64 as JSON strings, `large_list`, dictionary-encoded
strings, list item names `element`/`item`). Conforming matches fields by *name* at every level,
fills what is missing with NULLs, drops what is unknown (the caller reports it) and casts leaves.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from cdp.errors import InputError
from cdp.ga4.schema import EVENTS_SCHEMA


class ConformError(InputError):
    """A value or field cannot be converted to its export type; names the field path."""


def duckdb_type(dtype: pa.DataType) -> str:
    """The DuckDB type for an export-schema Arrow type (used for read specs and checks)."""
    if pa.types.is_struct(dtype):
        inner = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in dtype)
        return f"STRUCT({inner})"
    if pa.types.is_list(dtype):
        return f"{duckdb_type(dtype.value_type)}[]"
    leaves = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }
    if dtype not in leaves:
        raise TypeError(f"no DuckDB type for {dtype}")
    return leaves[dtype]


def unknown_fields(actual: pa.Schema, target: pa.Schema = EVENTS_SCHEMA) -> list[str]:
    """Dotted paths (BigQuery style, no list markers) of fields in `actual` but not in `target`.

    Only names are compared; a known field with the wrong type is the caster's business.
    """
    found: list[str] = []
    _collect_unknown(pa.struct(list(actual)), pa.struct(list(target)), "", found)
    return found


def _collect_unknown(actual: pa.DataType, target: pa.DataType, prefix: str, out: list[str]) -> None:
    actual = _unwrap(actual)
    if pa.types.is_struct(actual) and pa.types.is_struct(target):
        for field in actual:
            path = f"{prefix}{field.name}"
            index = target.get_field_index(field.name)
            if index < 0:
                out.append(path)
            else:
                _collect_unknown(field.type, target.field(index).type, f"{path}.", out)
    elif _is_list_like(actual) and pa.types.is_list(target):
        _collect_unknown(actual.value_type, target.value_type, prefix, out)


def conform_table(table: pa.Table, schema: pa.Schema = EVENTS_SCHEMA) -> pa.Table:
    """`table` with exactly `schema`: fields matched by name, missing -> NULL, extras dropped.

    Raises `ConformError` (naming the field path) when a value cannot be cast, e.g. a
    non-numeric string in an INT64 field.
    """
    columns = []
    for field in schema:
        if field.name in table.column_names:
            source = table.column(field.name)
            chunks = [_conform(chunk, field.type, field.name) for chunk in source.chunks]
            columns.append(pa.chunked_array(chunks, type=field.type))
        else:
            columns.append(pa.chunked_array([pa.nulls(table.num_rows, field.type)]))
    return pa.Table.from_arrays(columns, schema=schema)


def _conform(arr: pa.Array, target: pa.DataType, path: str) -> pa.Array:
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    if pa.types.is_struct(target):
        return _conform_struct(arr, target, path)
    if pa.types.is_list(target):
        return _conform_list(arr, target, path)
    return _cast_leaf(arr, target, path)


def _conform_struct(arr: pa.Array, target: pa.StructType, path: str) -> pa.Array:
    if not isinstance(arr, pa.StructArray):
        raise ConformError(f"field {path}: expected a record, found {arr.type}")
    present = {arr.type.field(i).name for i in range(arr.type.num_fields)}
    children = []
    for field in target:
        if field.name in present:
            # StructArray.field() applies the array's slice offset; parent nulls come via mask.
            children.append(_conform(arr.field(field.name), field.type, f"{path}.{field.name}"))
        else:
            children.append(pa.nulls(len(arr), field.type))
    return pa.StructArray.from_arrays(children, fields=list(target), mask=arr.is_null())


def _conform_list(arr: pa.Array, target: pa.ListType, path: str) -> pa.Array:
    if not isinstance(arr, pa.ListArray | pa.LargeListArray):
        raise ConformError(f"field {path}: expected a repeated field, found {arr.type}")
    # Work on the referenced window of the child only, so a sliced array stays cheap and
    # offsets can be rebased to 0 (int32, as the target list type requires).
    offsets = arr.offsets
    start = offsets[0].as_py()
    values = arr.values.slice(start, offsets[-1].as_py() - start)
    rebased = pc.cast(pc.subtract(offsets, start), pa.int32())
    conformed = _conform(values, target.value_type, path)
    return pa.ListArray.from_arrays(rebased, conformed, type=target, mask=arr.is_null())


def _cast_leaf(arr: pa.Array, target: pa.DataType, path: str) -> pa.Array:
    if arr.type == target:
        return arr
    if _is_list_like(arr.type) or pa.types.is_struct(arr.type):
        raise ConformError(f"field {path}: expected {target}, found {arr.type}")
    try:
        return pc.cast(arr, target)  # safe cast: no truncation, no silent overflow
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        detail = str(err).splitlines()[0]
        raise ConformError(f"field {path}: cannot convert to {target}: {detail}") from err


def _unwrap(dtype: pa.DataType) -> pa.DataType:
    return dtype.value_type if pa.types.is_dictionary(dtype) else dtype


def _is_list_like(dtype: pa.DataType) -> bool:
    return pa.types.is_list(dtype) or pa.types.is_large_list(dtype)
