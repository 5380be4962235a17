"""BigQuery: production. Every job carries `maximum_bytes_billed`; dry runs report bytes.

The client is created lazily, so rendering SQL (golden files, `--dry-run` planning) needs no
credentials. Driver errors are translated once, here, into transient or terminal errors.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from cdp.backends.base import Backend, Params, WriteMode, table_ref
from cdp.errors import BackendError, InputError, TransientError
from cdp.sql import EXPORT_ALIAS, qualified

if TYPE_CHECKING:
    from google.cloud import bigquery

    from cdp.config import BigQuerySettings

DEFAULT_MAX_BYTES = 200 * 1024**3


class BigQueryBackend(Backend):
    dialect: ClassVar[str] = "bigquery"
    native_wildcard_tables: ClassVar[bool] = True
    reports_bytes_scanned: ClassVar[bool] = True

    def __init__(
        self,
        project: str,
        export_dataset: str,
        product_dataset: str = "cdp",
        *,
        location: str = "US",
        maximum_bytes_billed: int = DEFAULT_MAX_BYTES,
        retry_timeout: float = 120.0,
        client: bigquery.Client | None = None,
    ):
        self.project = project
        self.export_dataset = export_dataset
        self.product_dataset = product_dataset
        self.location = location
        self.maximum_bytes_billed = maximum_bytes_billed
        # The client retries transient API errors itself; bound it so a Prefect task retry
        # (with its own backoff) takes over instead of one call hanging for ten minutes.
        self.retry_timeout = retry_timeout
        self._client = client

    @classmethod
    def from_settings(cls, settings: BigQuerySettings) -> BigQueryBackend:
        return cls(
            settings.project,
            settings.export_dataset,
            settings.product_dataset,
            location=settings.location,
            maximum_bytes_billed=settings.maximum_bytes_billed,
        )

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:
            from google.cloud import bigquery

            self._client = bigquery.Client(project=self.project, location=self.location)
        return self._client

    # ---- naming -------------------------------------------------------------------------
    def resolve_table(self, table: exp.Table) -> exp.Table:
        if table.db == EXPORT_ALIAS:
            return qualified(table, self.project, self.export_dataset)
        if not table.db:
            return qualified(table, self.project, self.product_dataset)
        return table

    def dialect_hooks(
        self, tree: exp.Expression, *, in_transaction: bool = False
    ) -> exp.Expression:
        """Dialect hook: outside a transaction, `CREATE TEMP TABLE` makes a dataset table.

        A BigQuery temporary table lives only as long as its script or session. A transaction
        is one script, so its temp tables stay temporary; every other statement is its own
        job, so a run's scratch tables become tables in the product dataset, which it drops.
        """
        if isinstance(tree, exp.Create) and not in_transaction:
            for temp in list(tree.find_all(exp.TemporaryProperty)):
                temp.pop()
        return tree

    # ---- jobs ---------------------------------------------------------------------------
    def job_config(
        self, params: Params | None = None, *, dry_run: bool = False
    ) -> bigquery.QueryJobConfig:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
            maximum_bytes_billed=self.maximum_bytes_billed,
            dry_run=dry_run,
            use_query_cache=not dry_run,
        )

    def _retries(self) -> dict[str, Any]:
        from google.cloud.bigquery.retry import DEFAULT_RETRY

        # API calls retry within `retry_timeout`; a failed *job* is not silently re-run here
        # (job_retry=None): it surfaces as TransientError and the flow's task retry decides.
        return {"retry": DEFAULT_RETRY.with_timeout(self.retry_timeout), "job_retry": None}

    def _submit(self, text: str, params: Params | None, *, dry_run: bool = False) -> Any:
        used = {k: v for k, v in (params or {}).items() if f"@{k}" in text}
        try:
            return self.client.query(
                text,
                job_config=self.job_config(used, dry_run=dry_run),
                location=self.location,
                **self._retries(),
            )
        except Exception as err:
            raise translate(err) from err

    def _job(
        self, sql: str | exp.Expression, params: Params | None, *, dry_run: bool = False
    ) -> Any:
        return self._submit(self.render(sql), params, dry_run=dry_run)

    def _wait(self, job: Any, **kwargs: Any) -> Any:
        try:
            return job.result(**kwargs, **self._retries())
        except Exception as err:
            raise translate(err) from err

    def execute(self, sql: str | exp.Expression, params: Params | None = None) -> None:
        self._wait(self._job(sql, params))

    def query(self, sql: str | exp.Expression, params: Params | None = None) -> pa.Table:
        rows = self._wait(self._job(sql, params))
        try:  # result pages are fetched here, after the job: their failures are ours too
            return rows.to_arrow(create_bqstorage_client=False)
        except Exception as err:
            raise translate(err) from err

    def query_batches(
        self, sql: str | exp.Expression, params: Params | None = None, batch_size: int = 50_000
    ) -> Iterator[pa.RecordBatch]:
        rows = self._wait(self._job(sql, params), page_size=batch_size)
        try:
            yield from rows.to_arrow_iterable()
        except Exception as err:
            raise translate(err) from err

    def atomic(
        self, statements: Sequence[str | exp.Expression], params: Params | None = None
    ) -> None:
        # One multi-statement script: BigQuery commits all of it or none of it.
        body = ";\n".join(self.render(s, in_transaction=True) for s in statements)
        script = f"BEGIN TRANSACTION;\n{body};\nCOMMIT TRANSACTION;"
        self._wait(self._submit(script, params))

    def dry_run_bytes(self, sql: str | exp.Expression, params: Params | None = None) -> int | None:
        job = self._job(sql, params, dry_run=True)
        return int(job.total_bytes_processed or 0)

    # ---- tables -------------------------------------------------------------------------
    def _table_id(self, table: str) -> str:
        ref = self.resolve_table(table_ref(table))
        return f"{ref.catalog}.{ref.db}.{ref.name}"

    def load_arrow(
        self, table: str, data: pa.Table | pa.RecordBatchReader, mode: WriteMode = "append"
    ) -> int:
        from google.cloud import bigquery

        arrow = data if isinstance(data, pa.Table) else data.read_all()
        buffer = io.BytesIO()
        pq.write_table(arrow, buffer)
        buffer.seek(0)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition="WRITE_TRUNCATE" if mode == "replace" else "WRITE_APPEND",
        )
        try:
            job = self.client.load_table_from_file(buffer, self._table_id(table), job_config=config)
        except Exception as err:
            raise translate(err) from err
        self._wait(job)
        return arrow.num_rows

    def table_exists(self, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(self._table_id(table), retry=self._retries()["retry"])
        except NotFound:
            return False
        except Exception as err:
            raise translate(err) from err
        return True

    def export_tables(self) -> list[str]:
        from google.api_core.exceptions import NotFound

        dataset = f"{self.project}.{self.export_dataset}"
        try:
            return sorted(
                t.table_id for t in self.client.list_tables(dataset, retry=self._retries()["retry"])
            )
        except NotFound as err:
            raise InputError(f"GA4 export dataset {dataset} not found") from err
        except Exception as err:
            raise translate(err) from err

    def shard_scan(self, prefix: str, suffixes: Sequence[str]) -> exp.Expression:
        """`events_*` filtered on `_TABLE_SUFFIX` by literals, so BigQuery prunes to those shards."""
        if not suffixes:
            raise InputError(f"no {prefix}* shards to read")
        ordered = sorted(suffixes)
        suffix = exp.column("_TABLE_SUFFIX")
        where = exp.and_(
            exp.Between(
                this=suffix.copy(),
                low=exp.Literal.string(ordered[0]),
                high=exp.Literal.string(ordered[-1]),
            ),
            exp.In(this=suffix.copy(), expressions=[exp.Literal.string(s) for s in ordered]),
        )
        wildcard = exp.Table(
            this=exp.to_identifier(f"{prefix}*", quoted=True), db=exp.to_identifier(EXPORT_ALIAS)
        )
        select = (
            exp.select(exp.Star(), exp.alias_(suffix.copy(), "shard_suffix"))
            .from_(wildcard)
            .where(where)
        )
        return select.subquery("shards")


def query_parameter(name: str, value: Any) -> Any:
    """A Python value as a BigQuery query parameter (arrays of scalars included)."""
    from google.cloud import bigquery

    if isinstance(value, list | tuple):
        element = _bq_type(value[0]) if value else "STRING"
        return bigquery.ArrayQueryParameter(name, element, list(value))
    return bigquery.ScalarQueryParameter(name, _bq_type(value), value)


def _bq_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    return "STRING"


_TRANSIENT = {
    "TooManyRequests",
    "InternalServerError",
    "ServiceUnavailable",
    "GatewayTimeout",
    "BadGateway",
}
# Error reasons worth retrying whatever the HTTP status: BigQuery reports a rate limit as 403
# `rateLimitExceeded` and a transient backend fault as 400/500 `backendError` (the reasons
# google-cloud-bigquery's own retry predicate retries, `google.cloud.bigquery.retry`).
_TRANSIENT_REASONS = {"rateLimitExceeded", "backendError", "internalError", "badGateway",
                      "jobRateLimitExceeded", "jobBackendError"}  # fmt: skip


def _network_error(err: Exception) -> bool:
    """A connection or read that failed on the way (the client's transports are requests,
    urllib3 and google-auth, whose errors are not the built-in ConnectionError)."""
    import google.auth.exceptions
    import requests
    import urllib3.exceptions

    return isinstance(
        err,
        ConnectionError
        | TimeoutError
        | requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError
        | urllib3.exceptions.HTTPError
        | google.auth.exceptions.TransportError,
    )


def translate(err: Exception) -> Exception:
    """A google-cloud error as ours: transient ones are retried by the caller, others are not."""
    if type(err).__name__ == "RetryError" and getattr(err, "cause", None) is not None:
        return translate(err.cause)  # type: ignore[attr-defined]  # the client gave up retrying
    name = type(err).__name__
    message = getattr(err, "message", None) or str(err)
    first = message.splitlines()[0] if message else name
    reasons = {e.get("reason") for e in getattr(err, "errors", None) or [] if isinstance(e, dict)}
    if name in _TRANSIENT or reasons & _TRANSIENT_REASONS or _network_error(err):
        return TransientError(f"BigQuery: {first}")
    if "bytes billed" in message.lower() or "bytesBilledLimitExceeded" in message:
        return BackendError(
            f"BigQuery refused the job: it would bill more than maximum_bytes_billed ({first})"
        )
    return BackendError(f"BigQuery: {first}")
