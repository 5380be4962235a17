"""Load GA4 export extracts (as BigQuery writes them) into the backend's export schema.

Accepted input, per table (`events_YYYYMMDD` / `events_intraday_YYYYMMDD`):

* `bq extract --destination_format NEWLINE_DELIMITED_JSON`, optionally gzip-compressed:
  INT64 values are JSON strings, NULL fields may be missing, repeated records are arrays.
* `bq extract --destination_format PARQUET`.
* One file named after the table (`events_20240101.json`, `.jsonl.gz`, `.parquet`, ...) or one
  folder named after the table holding any number of part files (wildcard extracts such as
  `000000000000.json` or `part-*.parquet`; extension-less parts are sniffed). A path argument can
  be such a file, such a folder, or a folder that contains them.

Every table is conformed to the exact `EVENTS_SCHEMA` (see `cdp.ga4.conform`) and written with
one `CREATE OR REPLACE TABLE` statement, so a shard is either fully replaced or left untouched;
loading the same extract twice gives the same result. Atomicity is per table, not per call.

Decisions:

* An empty file contributes zero rows. A table whose extract has no rows at all is loaded as an
  empty shard (the extract mirrors the BigQuery table, and an intraday table is legitimately
  empty just after midnight); it is listed in `LoadReport.empty_tables` and logged as a warning.
* Every row's `event_date` must equal the table's date (NULL counts as a mismatch): a shard
  holding other days would be double counted by the `_TABLE_SUFFIX` range scans downstream.
* `on_error="skip"` skips the whole *table* a bad file belongs to, never just the file: loading
  the remaining parts would replace a complete shard with a partial one.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cdp.backends.duckdb import DuckDBBackend
from cdp.errors import InputError
from cdp.ga4.conform import conform_table, duckdb_type, unknown_fields
from cdp.ga4.schema import EVENTS_SCHEMA, shard_kind
from cdp.sql import EXPORT_ALIAS

log = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
Format = Literal["json", "parquet"]

_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_PARQUET_SUFFIXES = (".parquet",)
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
# The DuckDB JSON reader's read spec: every column typed as in the export. DuckDB converts
# JSON strings to BIGINT (how bq writes INT64) and also accepts plain numbers.
_JSON_COLUMNS = "{" + ", ".join(f"'{f.name}': '{duckdb_type(f.type)}'" for f in EVENTS_SCHEMA) + "}"
_READ_JSON = f"SELECT * FROM read_json(?, format='newline_delimited', compression=?, columns={_JSON_COLUMNS})"
# Second, schema-only pass over the same file to name unknown fields: the typed read above
# drops them silently. Full-file sampling so rare fields are seen; map inference off so
# objects stay structs whose keys we can compare.
_INFER_JSON = (
    "SELECT * FROM read_json(?, format='newline_delimited', compression=?, sample_size=-1, "
    "map_inference_threshold=-1, field_appearance_threshold=0) LIMIT 0"
)


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass
class LoadReport:
    """What `load_extracts` did. `loaded` maps table name -> rows now in the shard."""

    loaded: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    #: table name -> dotted paths of unknown fields dropped while conforming.
    dropped_fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty_tables(self) -> list[str]:
        return sorted(name for name, rows in self.loaded.items() if rows == 0)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per fact (for the CLI)."""
        out = [f"loaded {name}: {rows} rows" for name, rows in sorted(self.loaded.items())]
        out += [
            f"dropped unknown fields in {t}: {', '.join(p)}"
            for t, p in sorted(self.dropped_fields.items())
        ]
        out += [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        return out


@dataclass
class _TableFiles:
    name: str
    date: str
    files: list[Path] = field(default_factory=list)


def load_extracts(
    paths: Sequence[Path], backend: DuckDBBackend, *, on_error: OnError = "raise"
) -> LoadReport:
    """Load GA4 export extracts under `paths` into `backend`'s export schema (see module doc).

    Raises `InputError` naming the file (and line when known) for a malformed extract, unless
    `on_error="skip"`, in which case that table is logged, reported and skipped.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    report = LoadReport()
    tables = _discover([Path(p) for p in paths], report, on_error)
    reader = _reader_connection()
    try:
        for table in sorted(tables.values(), key=lambda t: t.name):
            _load_table(table, backend, reader, report, on_error)
    finally:
        reader.close()
    return report


# ---- discovery ----------------------------------------------------------------------------


def _discover(paths: list[Path], report: LoadReport, on_error: OnError) -> dict[str, _TableFiles]:
    tables: dict[str, _TableFiles] = {}
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            _fail(InputError(f"{path}: no such file or directory"), path, report, on_error)
            continue
        for name, file in _candidates(path, report):
            resolved = file.resolve()
            if resolved in seen:  # the same file reached through two arguments
                continue
            seen.add(resolved)
            kind = shard_kind(name)
            assert kind is not None  # _candidates only yields shard names
            tables.setdefault(name, _TableFiles(name, kind[1])).files.append(file)
    for table in tables.values():
        table.files.sort()  # part files in name order -> deterministic row order
    return tables


def _candidates(path: Path, report: LoadReport) -> Iterator[tuple[str, Path]]:
    """(table name, data file) pairs under one argument; everything else goes to `skipped`."""
    if path.is_file():
        name = _table_name(path)
        if shard_kind(name) is None and shard_kind(path.parent.name) is not None:
            name = path.parent.name  # a single part file of a table folder
        yield from _data_file(name, path, report)
    elif shard_kind(path.name) is not None:
        yield from _table_folder(path, report)
    else:
        for child in _visible_children(path):
            if child.is_dir() and shard_kind(child.name) is not None:
                yield from _table_folder(child, report)
            elif child.is_file():
                yield from _data_file(_table_name(child), child, report)
            else:
                _skip(report, child, "not a GA4 export table folder (events_[intraday_]YYYYMMDD)")


def _table_folder(folder: Path, report: LoadReport) -> Iterator[tuple[str, Path]]:
    found = 0
    for child in _visible_children(folder):
        if child.is_file():
            for pair in _data_file(folder.name, child, report):
                found += 1
                yield pair
        else:
            _skip(report, child, "nested folder inside a table folder")
    if not found:
        # Unlike an empty *file*, a folder without data files is no evidence the table is empty.
        _skip(report, folder, "table folder holds no data files")


def _data_file(name: str, path: Path, report: LoadReport) -> Iterator[tuple[str, Path]]:
    if shard_kind(name) is None:
        _skip(report, path, "not a GA4 export table name (events_[intraday_]YYYYMMDD)")
    elif _format_of(path) is None:
        _skip(report, path, "unsupported file type (expected JSON, JSON.gz or Parquet)")
    else:
        yield name, path


def _visible_children(folder: Path) -> list[Path]:
    # Hidden files (.DS_Store, editor swap files) are never data; ignore them silently.
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _table_name(path: Path) -> str:
    return path.name.split(".", 1)[0]  # events_20240101.jsonl.gz -> events_20240101


def _format_of(path: Path) -> Format | None:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if not suffixes or not re.fullmatch(r"\.[a-z]+", suffixes[-1]):
        return _sniff(path)  # wildcard extract parts often have no (or a numeric) extension
    if suffixes[-1] in _JSON_SUFFIXES:
        return "json"
    if suffixes[-1] in _PARQUET_SUFFIXES:
        return "parquet"
    return None


def _sniff(path: Path) -> Format:
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == _PARQUET_MAGIC else "json"


# ---- one table ----------------------------------------------------------------------------


def _load_table(
    table: _TableFiles,
    backend: DuckDBBackend,
    reader: duckdb.DuckDBPyConnection,
    report: LoadReport,
    on_error: OnError,
) -> None:
    parts: list[pa.Table] = []
    dropped: set[str] = set()
    for path in table.files:
        try:
            data, unknown = _read_file(path, reader)
            _check_event_date(data, table.date, path)
        except InputError as err:
            _fail(err, path, report, on_error, also=[p for p in table.files if p != path])
            return
        parts.append(data)
        dropped.update(unknown)
    # Built completely in memory first; the write below is one statement.
    combined = pa.concat_tables(parts) if parts else EVENTS_SCHEMA.empty_table()
    rows = backend.load_arrow(f"{EXPORT_ALIAS}.{table.name}", combined, mode="replace")
    report.loaded[table.name] = rows
    if dropped:
        report.dropped_fields[table.name] = sorted(dropped)
        log.warning("%s: dropped unknown fields %s", table.name, ", ".join(sorted(dropped)))
    if rows == 0:
        log.warning("%s: extract has no rows; loaded an empty shard", table.name)
    log.info("loaded %s: %d rows from %d file(s)", table.name, rows, len(table.files))


def _read_file(path: Path, reader: duckdb.DuckDBPyConnection) -> tuple[pa.Table, list[str]]:
    """The file's rows conformed to `EVENTS_SCHEMA`, plus the unknown fields it carried."""
    if path.stat().st_size == 0:
        return EVENTS_SCHEMA.empty_table(), []
    try:
        if _format_of(path) == "parquet":
            raw = _read_parquet(path)
            unknown = unknown_fields(raw.schema)
        else:
            raw, unknown = _read_json(path, reader)
        return conform_table(raw), unknown
    except InputError as err:
        if str(err).startswith(str(path)):
            raise
        raise InputError(f"{path}: {err}") from err


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable Parquet file: {_first_line(err)}") from err


def _read_json(path: Path, reader: duckdb.DuckDBPyConnection) -> tuple[pa.Table, list[str]]:
    compression = "gzip" if _is_gzip(path) else "none"
    try:
        table = reader.sql(_READ_JSON, params=[str(path), compression]).to_arrow_table()
    except duckdb.Error as err:
        raise _json_error(path, compression, err) from err
    if table.num_rows == 0:
        return table, []  # whitespace only; inference would invent a `json` column
    return table, _unknown_json_fields(path, compression, reader)


def _unknown_json_fields(
    path: Path, compression: str, reader: duckdb.DuckDBPyConnection
) -> list[str]:
    try:
        inferred = reader.sql(_INFER_JSON, params=[str(path), compression]).to_arrow_table().schema
    except duckdb.Error as err:
        # The data itself already read fine; failing to *name* extras must not fail the load.
        log.warning("%s: could not list unknown fields: %s", path, _first_line(err))
        return []
    return unknown_fields(inferred)


def _json_error(path: Path, compression: str, err: duckdb.Error) -> InputError:
    # DuckDB's "line N" is a record count that is off after blank lines and across parallel
    # chunks, and a cast error does not name the field. On this error path only, find the
    # exact line and field with the standard parser.
    located = _locate_json_problem(path, compression == "gzip")
    if located is not None:
        return InputError(f"{path}: {located}")
    detail = re.sub(r'^[A-Za-z ]+Error: | in file "[^"]*",?| in line \d+', "", _first_line(err))
    return InputError(f"{path}: {detail}")


def _locate_json_problem(path: Path, gzipped: bool) -> str | None:
    """'line N: what is wrong' for the first record that is not valid JSON or does not fit
    `EVENTS_SCHEMA`; None if every record looks fine to Python (then DuckDB's text is used)."""
    target = pa.struct(list(EVENTS_SCHEMA))
    try:
        with _open_text(path, gzipped) as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as err:
                    return f"line {number}: malformed JSON: {err}"
                problem = _misfit(record, target, "")
                if problem is not None:
                    return f"line {number}: {problem}"
    except (OSError, EOFError, UnicodeDecodeError) as err:
        return f"unreadable: {err}"
    return None


def _misfit(value: object, dtype: pa.DataType, path: str) -> str | None:
    """Why a parsed JSON value cannot be read as `dtype` (None if it can). Unknown keys are fine."""
    if value is None:
        return None
    if pa.types.is_struct(dtype):
        if not isinstance(value, dict):
            return f"{path or 'record'}: expected an object, found {json.dumps(value)[:60]}"
        for child in dtype:
            child_path = f"{path}.{child.name}" if path else child.name
            problem = _misfit(value.get(child.name), child.type, child_path)
            if problem is not None:
                return problem
        return None
    if pa.types.is_list(dtype):
        if not isinstance(value, list):
            return f"{path}: expected an array, found {json.dumps(value)[:60]}"
        for item in value:
            problem = _misfit(item, dtype.value_type, path)
            if problem is not None:
                return problem
        return None
    return _leaf_misfit(value, dtype, path)


def _leaf_misfit(value: object, dtype: pa.DataType, path: str) -> str | None:
    if isinstance(value, dict | list):
        return f"{path}: expected a {dtype} value, found {json.dumps(value)[:60]}"
    if pa.types.is_int64(dtype) and not _is_int64(value):
        return f"{path}: {json.dumps(value)} is not an INT64"
    if pa.types.is_float64(dtype) and not _is_float(value):
        return f"{path}: {json.dumps(value)} is not a FLOAT"
    if pa.types.is_boolean(dtype) and not (isinstance(value, bool) or value in ("true", "false")):
        return f"{path}: {json.dumps(value)} is not a BOOLEAN"
    return None


def _is_int64(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        value = int(value)
    return isinstance(value, int) and -(2**63) <= value < 2**63


def _is_float(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))  # BigQuery writes NaN/Infinity as strings
    except ValueError:
        return False
    return True


def _check_event_date(table: pa.Table, date: str, path: Path) -> None:
    wrong = pc.fill_null(pc.not_equal(table.column("event_date"), date), True)
    count = pc.sum(wrong).as_py() or 0
    if count == 0:
        return
    index = pc.index(wrong, True).as_py()
    value = table.column("event_date")[index].as_py()
    where = _record_location(path, index)
    raise InputError(
        f"{path}: {where}: event_date {value!r} does not match the table date {date} "
        f"({count} row(s) in this file)"
    )


def _record_location(path: Path, index: int) -> str:
    """'line N' for NDJSON (blank lines skipped like the reader does), 'row N' otherwise."""
    if _format_of(path) != "json":
        return f"row {index + 1}"
    with _open_text(path, _is_gzip(path)) as fh:
        records = (number for number, line in enumerate(fh, start=1) if line.strip())
        for seen, number in enumerate(records):
            if seen == index:
                return f"line {number}"
    return f"record {index + 1}"


# ---- small helpers ------------------------------------------------------------------------


def _reader_connection() -> duckdb.DuckDBPyConnection:
    # A private in-memory connection parses files, so the backend only sees finished tables.
    return duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _is_gzip(path: Path) -> bool:
    # Sniffed, not taken from the name: `--compression GZIP` extracts need not end in `.gz`.
    with path.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _open_text(path: Path, gzipped: bool) -> IO[str]:
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _skip(report: LoadReport, path: Path, reason: str) -> None:
    log.warning("skipping %s: %s", path, reason)
    report.skipped.append(SkippedFile(path, reason))


def _fail(
    err: InputError, path: Path, report: LoadReport, on_error: OnError, *, also: Sequence[Path] = ()
) -> None:
    """Raise `err`, or with on_error='skip' record it (and the table's other files) as skipped."""
    if on_error == "raise":
        raise err
    _skip(report, path, str(err))
    for other in also:
        _skip(report, other, f"table skipped: {path.name} is malformed")
