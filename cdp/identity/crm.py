"""`load_crm`: fill `crm_customers` from a warehouse table or a CSV/Parquet file named in config.

Columns (the same as the Salesforce pull in `cdp.salesforce.crm_pull`): record_id, record_type,
uid, email, opted_out, customer_type, system_modstamp, then the configured attribute columns.
Source column names come from `CrmSettings`; optional ones that are not mapped load as NULL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlglot import exp

from cdp import sql as sqlmod
from cdp.backends.base import Backend
from cdp.config import CrmSettings
from cdp.errors import BackendError, ConfigError, InputError
from cdp.identity import tables as t

_STRINGS = ("record_id", "record_type", "uid", "email", "customer_type")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def _mapping(crm: CrmSettings) -> dict[str, str | None]:
    """Target column -> source column (None: not provided, loads as NULL)."""
    return {
        "record_id": crm.record_id,
        "record_type": crm.record_type,
        "uid": crm.uid,
        "email": crm.email,
        "opted_out": crm.opted_out,
        "customer_type": crm.customer_type,
        "system_modstamp": crm.system_modstamp,
        **{a: a for a in crm.attributes},
    }


def load_crm(backend: Backend, crm: CrmSettings, base_dir: Path | str = ".") -> int:
    """Replace `crm_customers` from the configured source; returns the rows loaded."""
    if crm.source == "none":
        return 0  # profiles are built without a CRM: every UID unmatched, and reported so
    if crm.source == "salesforce":
        # Landed by `cdp.salesforce.crm_pull`; nothing to load here.
        if not backend.table_exists(t.CRM):
            raise InputError(
                "crm.source is salesforce but crm_customers does not exist: run the CRM pull"
            )
        return int(backend.scalar(f"SELECT COUNT(*) FROM {t.CRM}") or 0)
    if crm.source == "table":
        if not crm.table:
            raise ConfigError("crm.source is table but crm.table is not set", field="crm.table")
        return _load_table(backend, crm, crm.table)
    if not crm.file:
        raise ConfigError("crm.source is file but crm.file is not set", field="crm.file")
    path = Path(base_dir) / crm.file
    return backend.load_arrow(t.CRM, read_crm_file(path, crm), mode="replace")


def read_crm_file(path: Path, crm: CrmSettings) -> pa.Table:
    if not path.exists():
        raise InputError(f"CRM file {path} not found")
    if path.suffix.lower() in (".parquet", ".pq"):
        raw = pq.read_table(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        # Ids stay text: a CSV reader would turn '00123' into 123.
        options = pacsv.ConvertOptions(strings_can_be_null=True, column_types={
            c: pa.string() for c in (crm.record_id, crm.uid, crm.email, crm.customer_type, crm.opted_out,
                                     crm.record_type) if c})  # fmt: skip
        raw = pacsv.read_csv(path, convert_options=options)
    else:
        raise InputError(f"CRM file {path}: expected .csv or .parquet")
    columns: dict[str, Any] = {}
    for target, src in _mapping(crm).items():
        if src is not None and src not in raw.column_names:
            raise ConfigError(
                f"column {src!r} not found in {path.name}", path=path, field=f"crm.{target}"
            )
        col = raw.column(src) if src else pa.nulls(raw.num_rows)
        if target in _STRINGS:
            col = col.cast(pa.string())
        elif target == "opted_out":
            col = _to_bool(col, path)
        elif target == "system_modstamp":
            col = col.cast(pa.timestamp("us", tz="UTC"))
        columns[target] = col
    return pa.table(columns)


def _to_bool(col: pa.ChunkedArray | pa.Array, path: Path) -> pa.Array:
    if pa.types.is_boolean(col.type):
        return col
    values = []
    for v in col.cast(pa.string()).to_pylist():
        text = (v or "").strip().lower()
        if text not in _TRUE | _FALSE:
            raise InputError(f"CRM file {path}: opted_out value {v!r} is not a boolean")
        values.append(text in _TRUE if v is not None else None)
    return pc.cast(pa.array(values, pa.bool_()), pa.bool_())


def crm_table_ctas(crm: CrmSettings, table: str) -> exp.Expression:
    """CTAS from a warehouse table, columns renamed and typed; names are sqlglot identifiers."""
    types = {"opted_out": "BOOL", "system_modstamp": "TIMESTAMP"}
    projections = []
    for target, src in _mapping(crm).items():
        value: exp.Expression = exp.column(src, quoted=True) if src else exp.Null()
        if target in _STRINGS:
            value = exp.cast(value, "STRING", dialect=sqlmod.SOURCE_DIALECT)
        elif target in types:
            value = exp.cast(value, types[target], dialect=sqlmod.SOURCE_DIALECT)
        projections.append(exp.alias_(value, target, quoted=True))
    select = exp.select(*projections).from_(exp.to_table(table, dialect=sqlmod.SOURCE_DIALECT))
    return exp.Create(this=exp.to_table(t.CRM), kind="TABLE", replace=True, expression=select)


def _load_table(backend: Backend, crm: CrmSettings, table: str) -> int:
    # Check the mapped columns first: a missing one would otherwise fail as the engine's binder
    # error, or, on DuckDB, silently read an earlier output column of the same name.
    try:
        columns = backend.column_names(table)
    except BackendError as err:
        raise ConfigError(f"cannot read CRM table {table}: {err}", field="crm.table") from err
    present = {name.lower() for name in columns}
    for target, src in _mapping(crm).items():
        if src is not None and src.lower() not in present:
            raise ConfigError(f"column {src!r} not found in table {table}", field=f"crm.{target}")
    backend.execute(crm_table_ctas(crm, table))
    return int(backend.scalar(f"SELECT COUNT(*) FROM {t.CRM}") or 0)
