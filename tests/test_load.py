"""Loading GA4 export extracts (NDJSON as `bq extract` writes it, gzip, Parquet) into DuckDB."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.errors import InputError
from cdp.ga4.conform import conform_table, duckdb_type
from cdp.ga4.load import LoadReport, load_extracts
from cdp.ga4.schema import EVENTS_SCHEMA, LATE_COLUMNS

TS = 1714521600123456  # µs; 2024-05-01T00:00:00.123456Z
SESSION = 1714521600


def ga4_row(date: str = "20240101", n: int = 0, **overrides: Any) -> dict[str, Any]:
    """One page_view as `bq extract --destination_format NEWLINE_DELIMITED_JSON` writes it:
    INT64 as strings, FLOAT as numbers, NULL fields left out, no late columns."""
    row: dict[str, Any] = {
        "event_date": date,
        "event_timestamp": str(TS + n),
        "event_name": "page_view",
        "event_params": [
            {"key": "ga_session_id", "value": {"int_value": str(SESSION)}},
            {"key": "page_location", "value": {"string_value": f"https://shop.example/p/{n}"}},
            {"key": "engagement_time_msec", "value": {"int_value": "1200"}},
        ],
        "event_bundle_sequence_id": "42",
        "user_pseudo_id": f"{1000 + n}.1714000000",
        "privacy_info": {
            "analytics_storage": "Yes",
            "ads_storage": "No",
            "uses_transient_token": "No",
        },
        "user_properties": [],
        "user_first_touch_timestamp": "1714000000000000",
        "device": {
            "category": "desktop",
            "operating_system": "Windows",
            "language": "en-us",
            "is_limited_ad_tracking": "No",
            "web_info": {
                "browser": "Chrome",
                "browser_version": "124.0",
                "hostname": "shop.example",
            },
        },
        "geo": {"city": "Berlin", "country": "Germany", "continent": "Europe", "region": "Berlin"},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": "1234567890",
        "platform": "WEB",
        "items": [],
    }
    row.update(overrides)
    return row


def write_ndjson(path: Path, rows: list[dict[str, Any]], *, gzipped: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Parquet as BigQuery extracts it: native int64, repeated records as list<element: struct>."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = conform_table(pa.Table.from_pylist([_native(r) for r in rows]))
    # BigQuery's Parquet has no late columns in older properties; drop them like that.
    table = table.drop_columns(list(LATE_COLUMNS))
    pq.write_table(table, path, use_compliant_nested_type=True)
    return path


def _native(row: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(row)
    for key in ("event_timestamp", "event_bundle_sequence_id", "user_first_touch_timestamp"):
        out[key] = int(out[key])
    for param in out["event_params"]:
        if "int_value" in param["value"]:
            param["value"]["int_value"] = int(param["value"]["int_value"])
    return out


def shard(backend: DuckDBBackend, name: str) -> list[dict[str, Any]]:
    return backend.query(f"SELECT * FROM ga4.{name} ORDER BY event_timestamp").to_pylist()


def column_types(backend: DuckDBBackend, name: str) -> dict[str, str]:
    rows = backend.con.execute(f"DESCRIBE ga4.{name}").fetchall()
    return {r[0]: r[1].replace('"', "") for r in rows}  # DuckDB quotes some names


def param(row: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p["value"] for p in row["event_params"] if p["key"] == key)


@pytest.fixture
def backend() -> Iterator[DuckDBBackend]:
    b = DuckDBBackend(":memory:")
    yield b
    b.close()


EXPECTED_TYPES = {f.name: duckdb_type(f.type).replace('"', "") for f in EVENTS_SCHEMA}


# ---- formats ------------------------------------------------------------------------------


def test_ndjson_int64_strings_load_with_exact_schema_and_values(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    path = write_ndjson(tmp_path / "events_20240101.json", [ga4_row(n=0), ga4_row(n=1)])

    report = load_extracts([path], backend)

    assert report.loaded == {"events_20240101": 2}
    assert backend.export_tables() == ["events_20240101"]
    assert column_types(backend, "events_20240101") == EXPECTED_TYPES
    first = shard(backend, "events_20240101")[0]
    assert first["event_timestamp"] == TS
    assert first["event_bundle_sequence_id"] == 42
    assert param(first, "ga_session_id") == {
        "string_value": None, "int_value": SESSION, "float_value": None, "double_value": None,
    }  # fmt: skip
    assert param(first, "page_location")["string_value"] == "https://shop.example/p/0"
    assert first["device"]["web_info"]["browser"] == "Chrome"
    assert first["device"]["mobile_brand_name"] is None
    assert first["geo"]["country"] == "Germany"
    assert first["privacy_info"]["analytics_storage"] == "Yes"
    assert first["user_properties"] == []


def test_gzip_ndjson(tmp_path: Path, backend: DuckDBBackend) -> None:
    path = write_ndjson(
        tmp_path / "events_20240101.jsonl.gz", [ga4_row(n=i) for i in range(3)], gzipped=True
    )

    assert load_extracts([path], backend).loaded == {"events_20240101": 3}
    assert param(shard(backend, "events_20240101")[2], "ga_session_id")["int_value"] == SESSION


def test_int64_as_plain_json_numbers_is_accepted(tmp_path: Path, backend: DuckDBBackend) -> None:
    path = write_ndjson(tmp_path / "events_20240101.ndjson", [_native(ga4_row())])

    load_extracts([path], backend)

    assert shard(backend, "events_20240101")[0]["event_timestamp"] == TS


def test_parquet_file_and_folder_of_parts(tmp_path: Path, backend: DuckDBBackend) -> None:
    single = write_parquet(tmp_path / "events_20240103.parquet", [ga4_row("20240103")])
    folder = tmp_path / "events_20240104"
    write_parquet(folder / "part-00000.parquet", [ga4_row("20240104", n=0)])
    write_parquet(
        folder / "part-00001.parquet", [ga4_row("20240104", n=1), ga4_row("20240104", n=2)]
    )

    report = load_extracts([single, folder], backend)

    assert report.loaded == {"events_20240103": 1, "events_20240104": 3}
    assert column_types(backend, "events_20240104") == EXPECTED_TYPES
    row = shard(backend, "events_20240104")[1]
    assert row["event_timestamp"] == TS + 1
    assert param(row, "ga_session_id")["int_value"] == SESSION
    assert row["batch_event_index"] is None


def test_intraday_folder_with_several_parts_is_one_shard(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    folder = tmp_path / "events_intraday_20240102"
    write_ndjson(folder / "000000000000.json", [ga4_row("20240102", n=0)])
    write_ndjson(folder / "000000000001.json", [ga4_row("20240102", n=1)])
    write_ndjson(folder / "000000000002", [ga4_row("20240102", n=2)], gzipped=True)  # no extension

    report = load_extracts([tmp_path], backend)

    assert report.loaded == {"events_intraday_20240102": 3}
    assert [r["event_timestamp"] for r in shard(backend, "events_intraday_20240102")] == [
        TS,
        TS + 1,
        TS + 2,
    ]


def test_container_folder_mixes_files_and_table_folders(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    write_ndjson(tmp_path / "events_20240101.json", [ga4_row("20240101")])
    write_ndjson(tmp_path / "events_intraday_20240102" / "000000000000.json", [ga4_row("20240102")])
    write_parquet(tmp_path / "events_20240103.parquet", [ga4_row("20240103")])

    report = load_extracts([tmp_path], backend)

    assert report.loaded == {
        "events_20240101": 1,
        "events_intraday_20240102": 1,
        "events_20240103": 1,
    }
    assert report.skipped == []


# ---- schema drift -------------------------------------------------------------------------


def test_missing_newer_columns_and_subfields_load_as_null(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    old = ga4_row()
    del old["device"]["web_info"]  # sub-record missing
    path = write_ndjson(tmp_path / "events_20240101.json", [old])

    load_extracts([path], backend)

    row = shard(backend, "events_20240101")[0]
    assert all(row[c] is None for c in LATE_COLUMNS)
    assert row["device"]["web_info"] is None
    assert column_types(backend, "events_20240101") == EXPECTED_TYPES


def test_late_columns_present_are_loaded(tmp_path: Path, backend: DuckDBBackend) -> None:
    new = ga4_row(
        is_active_user=True,
        batch_event_index="3",
        batch_page_id="1714521600001",
        collected_traffic_source={"manual_source": "newsletter", "gclid": None},
        session_traffic_source_last_click={
            "manual_campaign": {"source": "newsletter", "medium": "email"}
        },
    )
    load_extracts([write_ndjson(tmp_path / "events_20240101.json", [new])], backend)

    row = shard(backend, "events_20240101")[0]
    assert row["is_active_user"] is True
    assert (row["batch_event_index"], row["batch_page_id"]) == (3, 1714521600001)
    assert row["collected_traffic_source"]["manual_source"] == "newsletter"
    assert row["session_traffic_source_last_click"]["manual_campaign"]["medium"] == "email"


def test_unknown_fields_are_dropped_and_reported(tmp_path: Path, backend: DuckDBBackend) -> None:
    row = ga4_row(future_column={"a": 1}, another="x")
    row["device"]["future_sub"] = "y"
    row["event_params"][0]["value"]["bytes_value"] = "AA=="
    other = ga4_row(n=1, another=5)  # unknown field with a different JSON type: still no crash
    path = write_ndjson(tmp_path / "events_20240101.json", [row, other])

    report = load_extracts([path], backend)

    assert report.loaded == {"events_20240101": 2}
    assert report.dropped_fields == {
        "events_20240101": [
            "another",
            "device.future_sub",
            "event_params.value.bytes_value",
            "future_column",
        ]
    }
    assert column_types(backend, "events_20240101") == EXPECTED_TYPES


def test_unknown_parquet_columns_are_dropped_and_reported(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    table = pa.Table.from_pylist([_native(ga4_row())]).append_column("extra", pa.array([1]))
    pq.write_table(table, tmp_path / "events_20240101.parquet")

    report = load_extracts([tmp_path / "events_20240101.parquet"], backend)

    assert report.dropped_fields == {"events_20240101": ["extra"]}
    assert column_types(backend, "events_20240101") == EXPECTED_TYPES


# ---- bad input ----------------------------------------------------------------------------


def test_malformed_json_is_a_one_line_error_naming_file_and_line(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    path = tmp_path / "events_20240101.json"
    write_ndjson(path, [ga4_row(n=0)])
    with path.open("a") as fh:
        fh.write('{"event_date": "20240101", "event_name": \n')

    with pytest.raises(InputError) as caught:
        load_extracts([path], backend)

    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "line 2" in message
    assert backend.export_tables() == []


def test_non_numeric_int64_string_names_file_and_line(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    bad = ga4_row(n=1)
    bad["event_params"][0]["value"]["int_value"] = "abc"
    path = tmp_path / "events_20240101.json"
    path.write_text(json.dumps(ga4_row()) + "\n\n" + json.dumps(bad) + "\n")  # blank line counts

    expected = (
        r'events_20240101\.json: line 3: event_params\.value\.int_value: "abc" is not an INT64'
    )
    with pytest.raises(InputError, match=expected) as caught:
        load_extracts([path], backend)
    assert "\n" not in str(caught.value)


def test_event_date_must_match_the_table(tmp_path: Path, backend: DuckDBBackend) -> None:
    path = write_ndjson(tmp_path / "events_20240101.json", [ga4_row(), ga4_row("20240102")])

    with pytest.raises(InputError, match=r"events_20240101\.json: line 2: event_date '20240102'"):
        load_extracts([path], backend)


def test_not_parquet(tmp_path: Path, backend: DuckDBBackend) -> None:
    path = tmp_path / "events_20240101.parquet"
    path.write_bytes(b"this is not parquet")

    with pytest.raises(InputError, match=r"events_20240101\.parquet: not a readable Parquet file"):
        load_extracts([path], backend)


def test_skip_mode_skips_the_whole_table_and_loads_the_rest(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    write_ndjson(tmp_path / "events_20240101.json", [ga4_row()])
    bad_table = tmp_path / "events_20240102"
    write_ndjson(bad_table / "000000000000.json", [ga4_row("20240102")])
    (bad_table / "000000000001.json").write_text("{not json}\n")

    report = load_extracts([tmp_path], backend, on_error="skip")

    assert report.loaded == {"events_20240101": 1}
    assert {s.path.name for s in report.skipped} == {"000000000000.json", "000000000001.json"}
    assert backend.export_tables() == ["events_20240101"]


def test_failed_reload_leaves_the_previous_shard_untouched(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    good = write_ndjson(tmp_path / "good" / "events_20240101.json", [ga4_row(n=0), ga4_row(n=1)])
    load_extracts([good], backend)
    folder = tmp_path / "bad" / "events_20240101"
    write_ndjson(folder / "000000000000.json", [ga4_row()])
    (folder / "000000000001.json").write_text('{"event_date": "20240101"')

    with pytest.raises(InputError):
        load_extracts([folder], backend)

    assert len(shard(backend, "events_20240101")) == 2


def test_unrecognised_names_are_skipped_and_reported(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    write_ndjson(tmp_path / "events_20240101.json", [ga4_row()])
    write_ndjson(tmp_path / "users_20240101.json", [{"user_id": "u1"}])
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "events_2024.json").write_text("{}")
    (tmp_path / "events_20240101.avro").write_bytes(b"Obj\x01")

    report = load_extracts([tmp_path], backend)

    assert report.loaded == {"events_20240101": 1}
    assert sorted(s.path.name for s in report.skipped) == [
        "events_2024.json", "events_20240101.avro", "notes.txt", "users_20240101.json",
    ]  # fmt: skip
    assert all(s.reason for s in report.skipped)


def test_table_folder_without_data_files_is_skipped(tmp_path: Path, backend: DuckDBBackend) -> None:
    (tmp_path / "events_20240101").mkdir()

    report = load_extracts([tmp_path / "events_20240101"], backend)

    assert report.loaded == {}
    assert [s.path.name for s in report.skipped] == ["events_20240101"]
    assert backend.export_tables() == []


def test_missing_path_raises(tmp_path: Path, backend: DuckDBBackend) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_extracts([tmp_path / "events_20240101.json"], backend)


# ---- idempotence and empty input ----------------------------------------------------------


def test_reloading_the_same_extract_replaces_the_shard(
    tmp_path: Path, backend: DuckDBBackend
) -> None:
    folder = tmp_path / "events_20240101"
    write_ndjson(folder / "000000000000.json", [ga4_row(n=0), ga4_row(n=1)])
    write_ndjson(folder / "000000000001.json", [ga4_row(n=2)])

    first = load_extracts([folder], backend)
    before = shard(backend, "events_20240101")
    second = load_extracts([folder, folder / "000000000001.json"], backend)  # overlapping args

    assert first.loaded == second.loaded == {"events_20240101": 3}
    assert shard(backend, "events_20240101") == before


def test_empty_file_loads_an_empty_shard(tmp_path: Path, backend: DuckDBBackend) -> None:
    """Decision: an empty extract mirrors an empty BigQuery table -> empty shard, reported."""
    (tmp_path / "events_intraday_20240105.json").write_text("")
    write_ndjson(tmp_path / "events_20240105.json.gz", [], gzipped=True)

    report = load_extracts([tmp_path], backend)

    assert report.loaded == {"events_20240105": 0, "events_intraday_20240105": 0}
    assert report.empty_tables == ["events_20240105", "events_intraday_20240105"]
    assert column_types(backend, "events_intraday_20240105") == EXPECTED_TYPES


def test_empty_part_among_parts_contributes_no_rows(tmp_path: Path, backend: DuckDBBackend) -> None:
    folder = tmp_path / "events_20240101"
    write_ndjson(folder / "000000000000.json", [ga4_row()])
    (folder / "000000000001.json").write_text("")

    assert load_extracts([folder], backend).loaded == {"events_20240101": 1}


def test_report_lines() -> None:
    report = LoadReport(loaded={"events_20240101": 2}, dropped_fields={"events_20240101": ["x"]})
    assert report.lines() == [
        "loaded events_20240101: 2 rows",
        "dropped unknown fields in events_20240101: x",
    ]


# ---- conform (unit) -----------------------------------------------------------------------


def test_conform_table_yields_exact_schema_from_sliced_and_large_list_input() -> None:
    raw = pa.Table.from_pylist([_native(ga4_row(n=i)) for i in range(3)])
    params = raw.column("event_params").combine_chunks()
    large = pa.Array.from_buffers(
        pa.large_list(params.type.value_type), len(params),
        [None, pa.array(params.offsets.to_pylist(), pa.int64()).buffers()[1]], children=[params.values],
    )  # fmt: skip
    raw = raw.set_column(raw.schema.get_field_index("event_params"), "event_params", large).slice(1)

    out = conform_table(raw)

    assert out.schema == EVENTS_SCHEMA
    assert out.column("event_timestamp").to_pylist() == [TS + 1, TS + 2]
    assert (
        out.column("event_params")[1].as_py()[1]["value"]["string_value"]
        == "https://shop.example/p/2"
    )
