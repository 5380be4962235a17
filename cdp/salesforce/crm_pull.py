"""Pulling Contacts/Leads from Sales Cloud into the warehouse table `crm_customers`.

    rows, watermark = pull_crm(client, backend, since=None)        # full load (replaces the table)
    rows, watermark = pull_crm(client, backend, since=watermark)   # incremental, merged by record_id
    rows, mode = sync_crm(client, backend)                         # the pipeline's: either, as due

Incremental pulls ask for `SystemModstamp > since` (minus `crm.overlap_seconds`), ordered by
SystemModstamp, Id, page by page (query + query_more; results stream as Arrow batches and are
never all held in memory). The literal comes from simple-salesforce's `format_soql`, which
truncates to whole seconds, so the boundary second is re-read; the merge by `record_id`
makes that harmless. Deletions in Salesforce are not seen by an incremental pull (a full
pull drops them).

Columns: record_id, record_type ('Contact'|'Lead'), uid, email, opted_out (bool),
customer_type, system_modstamp (UTC timestamp), then `crm.attributes` columns typed from describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from simple_salesforce.format import format_soql

from cdp.backends.base import Backend
from cdp.errors import ConfigError
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.secrets import logger
from cdp.salesforce.settings import CrmPullSettings

CRM_TABLE = "crm_customers"
STAGING_TABLE = "crm_customers_delta"
STATE_TABLE = "crm_pull_state"  # one row: when the last full pull ran, and the watermark
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "currency": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}
BASE_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("record_id", pa.string()),
    ("record_type", pa.string()),
    ("uid", pa.string()),
    ("email", pa.string()),
    ("opted_out", pa.bool_()),
    ("customer_type", pa.string()),
    ("system_modstamp", pa.timestamp("us", tz="UTC")),
]


def parse_sf_datetime(value: str) -> datetime:
    """'2024-01-31T10:00:00.000+0000' (Salesforce's wire format) -> aware UTC datetime."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def _convert(value: Any, dtype: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_timestamp(dtype):
        return parse_sf_datetime(value)
    if pa.types.is_date(dtype):
        return date.fromisoformat(value)
    if pa.types.is_string(dtype):
        return str(value)
    return value


def build_soql(sobject: str, fields: list[str], since: datetime | None) -> str:
    for name in [sobject, *fields]:
        if not _IDENT.match(name):
            raise ConfigError(
                f"not a Salesforce API name: {name!r}", field="salesforce.sales_cloud.crm"
            )
    where = format_soql(" WHERE SystemModstamp > {}", since) if since is not None else ""
    return f"SELECT {', '.join(fields)} FROM {sobject}{where} ORDER BY SystemModstamp, Id"


class _Plan:
    """Column -> (Salesforce field, Arrow type) per object, checked against describe."""

    def __init__(self, client: SalesCloudClient, cfg: CrmPullSettings):
        for column in cfg.attributes:
            if not _IDENT.match(column) or column in dict(BASE_COLUMNS):
                raise ConfigError(
                    f"invalid or reserved column name {column!r}",
                    field="salesforce.sales_cloud.crm.attributes",
                )
        wanted = {
            "record_id": "Id",
            "uid": cfg.uid_field,
            "email": cfg.email_field,
            "opted_out": cfg.opted_out_field,
            "customer_type": cfg.customer_type_field,
            "system_modstamp": "SystemModstamp",
            **cfg.attributes,
        }
        self.fields: dict[str, dict[str, str]] = {}  # object -> column -> field
        attr_types: dict[str, set[str]] = {c: set() for c in cfg.attributes}
        for sobject in cfg.objects:
            described = {f["name"].lower(): f for f in client.describe(sobject)["fields"]}
            mapping = {}
            for column, name in wanted.items():
                found = described.get(name.lower())
                if found is None:
                    raise ConfigError(
                        f"{sobject} has no field {name!r} (mapped to column {column})",
                        field="salesforce.sales_cloud.crm",
                    )
                mapping[column] = found["name"]
                if column in attr_types:
                    attr_types[column].add(found["type"])
            self.fields[sobject] = mapping
        # An attribute typed differently on Contact and Lead falls back to string.
        attrs = [
            (c, _TYPES.get(next(iter(t)), pa.string()) if len(t) == 1 else pa.string())
            for c, t in attr_types.items()
        ]
        self.schema = pa.schema(BASE_COLUMNS + attrs)


def iter_crm_batches(
    client: SalesCloudClient,
    since: datetime | None,
    stats: dict[str, Any] | None = None,
    *,
    watermark: datetime | None = None,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema and a lazy stream of one RecordBatch per SOQL page, over all objects.

    `stats` (if given) receives `rows` and `watermark` as pages stream: the least, over the
    objects, of each one's latest SystemModstamp (`watermark`, the last pull's, for one with no
    change). The objects are read one after the other, so a Contact edited while Leads are read
    is stamped below the Leads' latest: one watermark over both would never see it again.
    """
    cfg = client.settings.sales_cloud.crm
    plan = _Plan(client, cfg)
    stats = stats if stats is not None else {}
    stats.update(rows=0, watermark=None)
    latest: dict[str, datetime | None] = dict.fromkeys(plan.fields, watermark)

    def batches() -> Iterator[pa.RecordBatch]:
        for sobject, mapping in plan.fields.items():
            soql = build_soql(sobject, list(dict.fromkeys(mapping.values())), since)
            for page in client.query_pages(soql):
                if not page:
                    continue
                columns = []
                for f in plan.schema:
                    if f.name == "record_type":
                        columns.append(pa.array([sobject] * len(page), pa.string()))
                        continue
                    name = mapping[f.name]
                    columns.append(pa.array([_convert(r.get(name), f.type) for r in page], f.type))
                batch = pa.RecordBatch.from_arrays(columns, schema=plan.schema)
                stats["rows"] += batch.num_rows
                top = max(parse_sf_datetime(r["SystemModstamp"]) for r in page)
                latest[sobject] = max(top, latest[sobject] or top)
                stamps = [t for t in latest.values() if t is not None]
                stats["watermark"] = min(stamps) if stamps else None
                yield batch

    return plan.schema, batches()


def pull_crm(
    client: SalesCloudClient, backend: Backend, since: datetime | None
) -> tuple[int, datetime | None]:
    """Write Contacts/Leads changed after `since` into `crm_customers`; returns
    (rows pulled, new watermark). `since=None` replaces the table with a full pull."""
    cfg = client.settings.sales_cloud.crm
    lower = since - timedelta(seconds=cfg.overlap_seconds) if since is not None else None
    stats: dict[str, Any] = {}
    schema, batches = iter_crm_batches(client, lower, stats, watermark=since)
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    if since is None or not backend.table_exists(CRM_TABLE):
        backend.load_arrow(CRM_TABLE, reader, mode="replace")
    else:
        backend.load_arrow(STAGING_TABLE, reader, mode="replace")
        columns = ", ".join(schema.names)
        backend.atomic(
            [
                f"DELETE FROM {CRM_TABLE} WHERE record_id IN (SELECT record_id FROM {STAGING_TABLE})",
                f"INSERT INTO {CRM_TABLE} ({columns}) SELECT {columns} FROM {STAGING_TABLE}",
            ]
        )
        backend.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    # Never behind the last one: re-read rows (the overlap) may be older than it.
    watermark = max((w for w in (stats["watermark"], since) if w is not None), default=None)
    logger.info("CRM pull: %d rows since %s; watermark now %s", stats["rows"], since, watermark)
    return stats["rows"], watermark


def sync_crm(
    client: SalesCloudClient, backend: Backend, *, now: datetime | None = None
) -> tuple[int, str]:
    """Bring `crm_customers` up to date; returns (rows pulled, "full" or "incremental").

    Incremental from the stored watermark; in full when there is no table or watermark yet, or
    the last full pull is `crm.full_pull_every_hours` old, since only a full pull drops the
    records deleted in Salesforce. The state is written after the pull: an interrupted one is
    simply repeated.
    """
    now = now or datetime.now(UTC)
    every = timedelta(hours=client.settings.sales_cloud.crm.full_pull_every_hours)
    last_full, since = _pull_state(backend)
    full = (
        since is None
        or last_full is None
        or now - last_full >= every
        or not backend.table_exists(CRM_TABLE)
    )
    rows, watermark = pull_crm(client, backend, None if full else since)
    backend.execute(
        f"CREATE OR REPLACE TABLE {STATE_TABLE} AS SELECT CAST(@last_full AS TIMESTAMP) AS "
        "last_full_at, CAST(@watermark AS TIMESTAMP) AS watermark",
        {"last_full": now if full else last_full, "watermark": watermark},
    )
    return rows, "full" if full else "incremental"


def _pull_state(backend: Backend) -> tuple[datetime | None, datetime | None]:
    if not backend.table_exists(STATE_TABLE):
        return None, None
    rows = backend.query(f"SELECT last_full_at, watermark FROM {STATE_TABLE}").to_pylist()
    return (rows[0]["last_full_at"], rows[0]["watermark"]) if rows else (None, None)
