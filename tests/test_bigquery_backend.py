"""The BigQuery backend with the real client object over a faked transport."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.errors import BackendError, InputError, TransientError
from tests.fake_bigquery import FakeBigQuery, fake_client


def backend(adapter: FakeBigQuery, max_bytes: int = 10 * 1024**3) -> BigQueryBackend:
    return BigQueryBackend("demo-project", "analytics_123456789", "cdp", maximum_bytes_billed=max_bytes,
                           retry_timeout=0.5, client=fake_client(adapter))  # fmt: skip


def test_query_sends_parameters_and_byte_cap() -> None:
    fake = FakeBigQuery(
        rows=[{"n": "3"}], schema=[{"name": "n", "type": "INTEGER", "mode": "NULLABLE"}]
    )
    result = backend(fake, max_bytes=5_000_000).query(
        "SELECT COUNT(*) AS n FROM stg_events WHERE event_name = @name AND shard_date IN UNNEST(@dates) "
        "AND engagement_time_msec > @ms",
        {"name": "page_view", "dates": ["20240101", "20240102"], "ms": 10, "unused": "x"},
    )
    assert result.column("n").to_pylist() == [3]
    [job] = fake.jobs
    query = job["configuration"]["query"]
    assert query["useLegacySql"] is False
    assert query["maximumBytesBilled"] == "5000000"
    assert "`demo-project`.cdp.stg_events" in query["query"]
    params = {p["name"]: p for p in query["queryParameters"]}
    assert set(params) == {"name", "dates", "ms"}  # unused parameters are not sent
    assert params["name"]["parameterType"]["type"] == "STRING"
    assert params["name"]["parameterValue"]["value"] == "page_view"
    assert params["dates"]["parameterType"] == {"type": "ARRAY", "arrayType": {"type": "STRING"}}
    assert [v["value"] for v in params["dates"]["parameterValue"]["arrayValues"]] == [
        "20240101",
        "20240102",
    ]
    assert params["ms"]["parameterType"]["type"] == "INT64"


def test_dry_run_reports_bytes_without_running() -> None:
    fake = FakeBigQuery(bytes_processed=987_654_321)
    scanned = backend(fake).dry_run_bytes(
        "SELECT cid FROM stg_events WHERE event_date >= @d", {"d": "2024-01-01"}
    )
    assert scanned == 987_654_321
    [job] = fake.jobs
    assert job["configuration"]["dryRun"] is True
    assert job["configuration"]["query"]["useQueryCache"] is False
    assert job["configuration"]["query"]["maximumBytesBilled"] == str(10 * 1024**3)
    assert not any("/queries/" in url for _, url in fake.requests)  # no results fetched


def test_atomic_runs_one_transaction_script() -> None:
    fake = FakeBigQuery()
    backend(fake).atomic(
        [
            "DELETE FROM stg_events WHERE shard_date IN UNNEST(@dates)",
            "INSERT INTO stg_events SELECT * FROM x",
        ],
        {"dates": ["20240101"]},
    )
    [job] = fake.jobs
    script = job["configuration"]["query"]["query"]
    assert script.startswith("BEGIN TRANSACTION;") and script.rstrip().endswith(
        "COMMIT TRANSACTION;"
    )
    assert script.count("`demo-project`.cdp.stg_events") == 2


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE OR REPLACE TABLE stg_events AS SELECT 1 AS x",
        "DROP TABLE IF EXISTS stg_events",
        "ALTER TABLE stg_events ADD COLUMN y INT64",
    ],
)
def test_atomic_refuses_ddl_on_permanent_tables(ddl: str) -> None:
    # BigQuery rejects it inside a transaction; both backends refuse it before running anything.
    fake = FakeBigQuery()
    with pytest.raises(BackendError, match="cannot run inside a transaction"):
        backend(fake).atomic(["DELETE FROM stg_events WHERE TRUE", ddl])
    assert fake.jobs == []
    duck = DuckDBBackend()
    duck.execute("CREATE TABLE stg_events (x INT64)")
    duck.execute("INSERT INTO stg_events VALUES (1)")
    with pytest.raises(BackendError, match="cannot run inside a transaction"):
        duck.atomic(["DELETE FROM stg_events WHERE TRUE", ddl])
    assert duck.scalar("SELECT COUNT(*) FROM stg_events") == 1  # rolled back


def test_atomic_allows_temp_tables() -> None:
    duck = DuckDBBackend()
    duck.atomic(["CREATE TEMP TABLE scratch AS SELECT 1 AS x", "SELECT * FROM scratch"])


def test_scratch_temp_tables_become_dataset_tables_outside_transactions() -> None:
    bq = backend(FakeBigQuery())
    statement = "CREATE OR REPLACE TEMP TABLE identity__scope AS SELECT 1 AS x"
    assert bq.render(statement) == (
        "CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope AS SELECT 1 AS x"
    )
    assert "TEMP" in bq.render(statement, in_transaction=True).upper()
    duck = DuckDBBackend()
    assert "TEMPORARY TABLE" in duck.render(statement)


def test_export_tables_lists_metadata_only() -> None:
    fake = FakeBigQuery()
    tables = backend(fake).export_tables()
    assert "events_intraday_20240103" in tables and "events_20240101" in tables
    assert not fake.jobs  # listing tables runs no query job


def test_errors_are_translated_once() -> None:
    with pytest.raises(TransientError):
        backend(FakeBigQuery(fail_with=(503, "backendError"))).execute("SELECT 1")
    with pytest.raises(BackendError, match="BigQuery"):
        backend(FakeBigQuery(fail_with=(400, "invalidQuery"))).execute("SELECT 1")
    # Retryable by their reason, whatever the status: a rate limit is a 403, a backend fault a 400.
    with pytest.raises(TransientError):
        backend(FakeBigQuery(fail_with=(403, "rateLimitExceeded"))).execute("SELECT 1")
    with pytest.raises(TransientError):
        backend(FakeBigQuery(fail_with=(400, "backendError"))).execute("SELECT 1")
    with pytest.raises(BackendError, match="BigQuery"):
        backend(FakeBigQuery(fail_with=(403, "accessDenied"))).execute("SELECT 1")
    with pytest.raises(InputError, match="analytics_123456789"):
        backend(FakeBigQuery(fail_with=(404, "notFound"))).export_tables()


def test_shard_scan_prunes_with_table_suffix_literals() -> None:
    sql = BigQueryBackend("p", "analytics_1").render(
        "SELECT COUNT(*) FROM __x__".replace("__x__", "(SELECT 1)")
    )
    assert sql
    scan = BigQueryBackend("p", "analytics_1").shard_scan("events_", ["20240102", "20240101"])
    rendered = scan.sql(dialect="bigquery")
    assert "`events_*`" in rendered
    assert "_TABLE_SUFFIX BETWEEN '20240101' AND '20240102'" in rendered


def test_duckdb_evaluates_timestamps_in_utc_like_bigquery(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    try:
        duck = DuckDBBackend()
        # An event at 2024-05-01 23:30 UTC is not before 23:15 UTC, whatever the machine's zone.
        micros = 1714606200 * 1_000_000
        as_of = datetime(2024, 5, 1, 23, 15, tzinfo=UTC)
        before = duck.scalar(
            "SELECT TIMESTAMP_MICROS(@us) < @as_of", {"us": micros, "as_of": as_of}
        )
        assert before is False
        day = duck.scalar("SELECT DATE(TIMESTAMP_MICROS(@us))", {"us": micros})
        assert str(day) == "2024-05-01"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_an_unreachable_bigquery_is_transient() -> None:
    """The real client, against a port that refuses connections: its transport errors (requests,
    urllib3, google-auth) were not the built-in ConnectionError, so the flow never retried."""
    import socket

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    with socket.socket() as probe:  # a free port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = bigquery.Client(
        project="p",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
    )
    with pytest.raises(TransientError, match="BigQuery"):
        BigQueryBackend("p", "analytics_1", client=client, retry_timeout=1.0).scalar("SELECT 1")
