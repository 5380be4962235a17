"""Staging: the GA4 export flattened, deduplicated and incrementally maintained in `stg_events`.

One row per event. Everything downstream (identity, audiences, triggers, funnels) reads this
table with plain portable SQL, so the export's nested idioms live here only.

Incremental rule: each run re-reads the daily shards from (watermark - lookback), plus any daily
shard never staged before, plus every intraday shard whose day has no daily shard yet. Rows are
replaced per shard date in one transaction, so intraday rows (provisional) disappear the moment
that date's daily shard is staged, and re-running changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlglot import exp

from cdp import sql as sqlmod
from cdp.backends.base import Backend
from cdp.config import ParamColumn, StagingSettings
from cdp.errors import InputError
from cdp.ga4.schema import DAILY_PREFIX, INTRADAY_PREFIX, STAGED_HEAD, STAGED_TAIL, shard_kind

log = logging.getLogger(__name__)

STG_TABLE = "stg_events"
SHARDS_TABLE = "stg_shards"


def session_key_sql(cid: str = "cid", session: str = "ga_session_id") -> str:
    """`stg_events.session_key`: GA4's session id on its device (NULL without either)."""
    return (
        f"CASE WHEN {cid} IS NOT NULL AND {session} IS NOT NULL "
        f"THEN CONCAT({cid}, '.', CAST({session} AS STRING)) END"
    )


# Flattened columns. `{shards}` is replaced by the backend's shard scan (a named dialect hook).
_STAGE_SELECT = f"""
WITH keyed AS (
  SELECT
    *,
    -- The dedupe key (facts file, 1.8). The batch fields identify an event within its page
    -- load; only rows without them (older exports) fall back to the params. A 64-bit
    -- fingerprint, compared together with the timestamp, so a collision would need two
    -- different events in the same microsecond.
    FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(
      user_pseudo_id, user_id, event_date, event_name, event_timestamp,
      batch_page_id, batch_ordering_id, batch_event_index,
      IF(batch_page_id IS NULL AND batch_ordering_id IS NULL AND batch_event_index IS NULL,
         event_params, NULL) AS params
    ))) AS event_key
  FROM {{shards}}
  WHERE event_timestamp IS NOT NULL AND event_name IS NOT NULL
),
-- Duplicates are rare (~1%): find their keys on narrow columns, pass every other row through,
-- and number only the repeated ones. A window over all rows would shuffle every column of every
-- event (2x slower on DuckDB at 10M events).
repeated AS (
  SELECT event_timestamp, event_key FROM keyed
  GROUP BY event_timestamp, event_key
  HAVING COUNT(*) > 1
),
deduped AS (
  SELECT k.*
  FROM keyed AS k
  LEFT JOIN repeated AS r ON r.event_timestamp = k.event_timestamp AND r.event_key = k.event_key
  WHERE r.event_key IS NULL
  UNION ALL
  SELECT * EXCEPT (copy_no)
  FROM (
    SELECT
      k.*,
      ROW_NUMBER() OVER (PARTITION BY k.event_timestamp, k.event_key) AS copy_no
    FROM keyed AS k
    JOIN repeated AS r ON r.event_timestamp = k.event_timestamp AND r.event_key = k.event_key
  )
  WHERE copy_no = 1
),
flat AS (
  SELECT
    event_key,
    TIMESTAMP_MICROS(event_timestamp) AS event_ts,
    event_timestamp,
    PARSE_DATE('%Y%m%d', event_date) AS event_date,
    shard_suffix AS shard_date,
    shard_provisional AS is_provisional,
    event_name,
    user_pseudo_id AS cid,
    user_id AS uid,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS ga_session_id,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_number') AS ga_session_number,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location') AS page_location,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_title') AS page_title,
    (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_referrer') AS page_referrer,
    (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'engagement_time_msec') AS engagement_time_msec,
    privacy_info.analytics_storage AS analytics_storage,
    privacy_info.ads_storage AS ads_storage,
    device.category AS device_category,
    geo.country AS country,
    geo.city AS city,
    platform,
    traffic_source.source AS traffic_source,
    traffic_source.medium AS traffic_medium,
    traffic_source.name AS traffic_campaign
  FROM deduped
)
SELECT
  * EXCEPT (url),
  {session_key_sql()} AS session_key,
  -- The URL's path: what follows "scheme://host", up to "?" or "#". String functions give the
  -- same as REGEXP_EXTRACT(page_location, r'^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)')
  -- at half its cost on DuckDB, where a capture group is slow.
  IF(
    STRPOS(url, '://') > 0 AND REGEXP_CONTAINS(url, r'^[A-Za-z][A-Za-z0-9+.-]*://'),
    SUBSTR(url, STRPOS(url, '://') + 2 + STRPOS(CONCAT(SUBSTR(url, STRPOS(url, '://') + 3), '/'), '/')),
    url
  ) AS page_path
FROM (
  SELECT *, SPLIT(SPLIT(page_location, '?')[SAFE_OFFSET(0)], '#')[SAFE_OFFSET(0)] AS url
  FROM flat
)
"""

# Daily partitions, clustered for the identity and segment scans (BigQuery; DuckDB drops them).
_CREATE_STG = f"CREATE OR REPLACE TABLE {STG_TABLE} PARTITION BY event_date CLUSTER BY cid, event_name AS SELECT 1"


@dataclass(frozen=True)
class ShardPlan:
    """Which export shards a run reads, and which stg dates it replaces."""

    daily: tuple[str, ...]
    intraday: tuple[str, ...]

    @property
    def dates(self) -> tuple[str, ...]:
        return tuple(sorted({*self.daily, *self.intraday}))

    @property
    def empty(self) -> bool:
        return not self.daily and not self.intraday


# One row: a fixed tuple's event key as the engine that staged `stg_events` computed it. DuckDB's
# `hash` (its FARM_FINGERPRINT) is not promised to stay the same across releases; after a change
# re-staged events would get new keys, and triggers, which decide each start event once by its
# key, would decide them again. BigQuery's FARM_FINGERPRINT is fixed.
KEYING_TABLE = "stg_keying"
_KEY_PROBE_SQL = (
    "SELECT FARM_FINGERPRINT(TO_JSON_STRING(STRUCT('cdp' AS user_pseudo_id, 1 AS event_timestamp)))"
)


@dataclass
class StageReport:
    plan: ShardPlan
    rows_read: int = 0
    rows_staged: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def duplicates_removed(self) -> int:
        return self.rows_read - self.rows_staged


def list_shards(backend: Backend) -> tuple[dict[str, str], dict[str, str]]:
    """Daily and intraday export shards by date (YYYYMMDD -> table name). Metadata only."""
    daily: dict[str, str] = {}
    intraday: dict[str, str] = {}
    for name in backend.export_tables():
        kind = shard_kind(name)
        if kind is None:
            continue
        (daily if kind[0] == "daily" else intraday)[kind[1]] = name
    return daily, intraday


def staged_shards(backend: Backend) -> set[str]:
    if not backend.table_exists(SHARDS_TABLE):
        return set()
    return {
        str(v) for v in backend.query(f"SELECT shard FROM {SHARDS_TABLE}").column(0).to_pylist()
    }


def plan_shards(
    daily: Sequence[str],
    intraday: Sequence[str],
    seen: set[str],
    *,
    lookback_days: int,
    start: date | None = None,
    end: date | None = None,
    first_date: date | None = None,
) -> ShardPlan:
    """Choose the shards to (re)stage. Pure: the heart of the incremental rule, unit-tested.

    `first_date` (`staging.first_date`) is a floor under every other rule: without it, shards
    left out by a `--start` run would count as unstaged and be read by the next run."""
    if start and end and start > end:
        raise InputError(f"impossible date range: start {start} is after end {end}")
    if start and first_date and start < first_date:
        raise InputError(f"start {start} is before staging.first_date {first_date}")
    floor = first_date.strftime("%Y%m%d") if first_date else None
    lo = start.strftime("%Y%m%d") if start else None
    hi = end.strftime("%Y%m%d") if end else None
    gaps: set[str] = set()
    if lo is None:
        staged_daily = sorted(d for d in daily if f"{DAILY_PREFIX}{d}" in seen)
        # A property exporting only intraday shards (or whose daily export paused) still has a
        # watermark: its latest staged intraday shard.
        staged = staged_daily or sorted(d for d in intraday if f"{INTRADAY_PREFIX}{d}" in seen)
        if staged:
            watermark = datetime.strptime(staged[-1], "%Y%m%d").date()
            lo = (watermark - timedelta(days=lookback_days)).strftime("%Y%m%d")
            # Unstaged daily shards older than the window (a failed run, a late or backfilled
            # shard) are read too, alone: a range from the oldest would re-read every shard
            # after it.
            gaps = {d for d in daily if f"{DAILY_PREFIX}{d}" not in seen and d < lo}
    if floor is not None:
        lo = max(lo or floor, floor)
        gaps = {d for d in gaps if d >= floor}
    in_range = [
        d for d in sorted(daily)
        if (lo is None or d >= lo or d in gaps) and (hi is None or d <= hi)
    ]  # fmt: skip
    daily_set = set(daily)
    provisional = [
        d
        for d in sorted(intraday)
        if d not in daily_set and (lo is None or d >= lo) and (hi is None or d <= hi)
    ]
    return ShardPlan(daily=tuple(in_range), intraday=tuple(provisional))


def param_column(param: ParamColumn, *, source: str = "event_params") -> exp.Expression:
    """`(SELECT <value> FROM UNNEST(<source>) WHERE key = '<k>') AS <col>` built as a tree.

    The value is read from whichever field holds it (facts 1.5: a param's value may sit in
    another field than usual on some events): a `string` param also takes an `int_value` (a
    model id sent as 9), an `int` one a whole `double_value`, and a `double` one any numeric
    field (GA4 writes whole numbers to `int_value`). One lookup per param, whatever the fields.
    The key is a sqlglot literal (quoted by sqlglot), never formatted into SQL text.
    """

    def field(name: str) -> exp.Expression:
        return exp.column(name, table="value")

    def as_type(value: exp.Expression, sql_type: str) -> exp.Expression:
        return exp.TryCast(this=value, to=exp.DataType.build(sql_type))

    if param.type == "string":
        value = exp.Coalesce(
            this=field("string_value"), expressions=[as_type(field("int_value"), "STRING")]
        )
    elif param.type == "int":
        whole = exp.EQ(this=field("double_value"), expression=exp.Floor(this=field("double_value")))
        value = exp.Coalesce(
            this=field("int_value"),
            expressions=[exp.If(this=whole, true=as_type(field("double_value"), "BIGINT"))],
        )
    else:
        value = exp.Coalesce(
            this=field("double_value"),
            expressions=[field("float_value"), as_type(field("int_value"), "DOUBLE")],
        )
    lookup = (
        exp.select(value)
        .from_(exp.Unnest(expressions=[exp.column(source)]))
        .where(exp.EQ(this=exp.column("key"), expression=exp.Literal.string(param.key)))
        .subquery()
    )
    aliased = exp.alias_(lookup, param.column_name)
    assert isinstance(aliased, exp.Expression)
    return aliased


def staged_columns(settings: StagingSettings) -> list[str]:
    """`stg_events` columns in the order `stage_select` writes them."""
    params = [p.column_name for p in [*settings.extra_params, *settings.user_properties]]
    return [*STAGED_HEAD, *params, *STAGED_TAIL]


def _check_layout(backend: Backend, columns: list[str]) -> None:
    """Refuse to merge into a `stg_events` staged with other params: its rows would lack (or
    keep stale) columns. Only a full refresh restages every date with the new ones."""
    present = backend.column_names(STG_TABLE)
    missing = sorted(set(columns) - set(present))
    extra = sorted(set(present) - set(columns))
    if missing or extra:
        raise InputError(
            f"stg_events was staged with other params (new: {', '.join(missing) or 'none'}; "
            f"gone: {', '.join(extra) or 'none'}): run `cdp stage --full-refresh`"
        )


def stage_select(backend: Backend, plan: ShardPlan, settings: StagingSettings) -> exp.Expression:
    """The staging query for `plan`, as a GoogleSQL tree ready for `backend.render`."""
    tree = sqlmod.parse_one(_STAGE_SELECT.replace("{shards}", "__shards__"))
    scans: list[exp.Query] = []
    for prefix, suffixes, provisional in (
        (DAILY_PREFIX, plan.daily, False),
        (INTRADAY_PREFIX, plan.intraday, True),
    ):
        if suffixes:
            scans.append(
                exp.select(
                    exp.Star(), exp.alias_(exp.Boolean(this=provisional), "shard_provisional")
                ).from_(backend.shard_scan(prefix, suffixes))
            )
    union: exp.Query = scans[0]
    for scan in scans[1:]:
        union = exp.union(union, scan, distinct=False)
    relation = union.subquery("shards")
    placeholder = next(t for t in tree.find_all(exp.Table) if t.name == "__shards__")
    placeholder.replace(relation)
    flat = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "flat").this
    assert isinstance(flat, exp.Select)
    for param in settings.extra_params:
        flat.select(param_column(param), copy=False)
    for prop in settings.user_properties:
        flat.select(param_column(prop, source="user_properties"), copy=False)
    return tree


def check_range(start: date | None, end: date | None, *, full_refresh: bool) -> None:
    """A full refresh replaces stg_events whole: with a range it would keep only that range."""
    if full_refresh and (start or end):
        raise InputError(
            "--full-refresh rebuilds stg_events from every shard and takes no --start/--end; "
            "to restage some dates, run with --start/--end alone"
        )


def stage(
    backend: Backend,
    settings: StagingSettings,
    *,
    start: date | None = None,
    end: date | None = None,
    full_refresh: bool = False,
) -> StageReport:
    """Stage what changed since the last run (or everything, with `full_refresh`)."""
    check_range(start, end, full_refresh=full_refresh)
    daily, intraday = list_shards(backend)
    if not daily and not intraday:
        raise InputError("no GA4 export tables (events_YYYYMMDD / events_intraday_YYYYMMDD) found")
    probe = int(backend.scalar(_KEY_PROBE_SQL) or 0)
    if not full_refresh:
        _check_keying(backend, probe)
    seen = set() if full_refresh else staged_shards(backend)
    plan = plan_shards(
        list(daily),
        list(intraday),
        seen,
        lookback_days=settings.lookback_days,
        start=start,
        end=end,
        first_date=settings.first_date,
    )
    report = StageReport(plan=plan)
    if plan.empty:
        log.info("staging: nothing to do")
        return report

    select = stage_select(backend, plan, settings)
    shard_rows = [f"{DAILY_PREFIX}{d}" for d in plan.daily] + [
        f"{INTRADAY_PREFIX}{d}" for d in plan.intraday
    ]
    report.rows_read = _count_raw(backend, plan)
    backend.execute(
        f"CREATE TABLE IF NOT EXISTS {SHARDS_TABLE} (shard STRING, staged_at TIMESTAMP)"
    )
    backend.execute(f"CREATE TABLE IF NOT EXISTS {KEYING_TABLE} (probe INT64)")
    bookkeeping: list[str | exp.Expression] = [
        f"DELETE FROM {SHARDS_TABLE} WHERE shard IN UNNEST(@shards)",
        f"INSERT INTO {SHARDS_TABLE} (shard, staged_at) "
        "SELECT s, CURRENT_TIMESTAMP() FROM UNNEST(@shards) AS s",
        f"DELETE FROM {KEYING_TABLE} WHERE TRUE",
        f"INSERT INTO {KEYING_TABLE} (probe) SELECT @probe",
    ]
    params = {"dates": list(plan.dates), "shards": shard_rows, "probe": probe}
    if full_refresh or not backend.table_exists(STG_TABLE):
        # One CREATE OR REPLACE is atomic on its own (and DDL may not run inside a BigQuery
        # transaction). Should the bookkeeping below fail, the next run simply restages.
        create = sqlmod.parse_one(_CREATE_STG)
        create.set("expression", select)
        backend.execute(create)
        backend.atomic([f"DELETE FROM {SHARDS_TABLE} WHERE TRUE", *bookkeeping], params)
        report.rows_staged = int(backend.scalar(f"SELECT COUNT(*) FROM {STG_TABLE}") or 0)
    else:
        columns = staged_columns(settings)
        _check_layout(backend, columns)
        backend.atomic(
            [
                f"DELETE FROM {STG_TABLE} WHERE shard_date IN UNNEST(@dates)",
                exp.insert(select, STG_TABLE, columns=columns),  # by name, not position
                *bookkeeping,
            ],
            params,
        )
        report.rows_staged = int(
            backend.scalar(
                f"SELECT COUNT(*) FROM {STG_TABLE} WHERE shard_date IN UNNEST(@dates)", params
            )
            or 0
        )
    log.info(
        "staged %d events from %d daily + %d intraday shards (%d duplicates removed)",
        report.rows_staged, len(plan.daily), len(plan.intraday), report.duplicates_removed,
    )  # fmt: skip
    return report


def _check_keying(backend: Backend, probe: int) -> None:
    """Refuse to merge into a `stg_events` whose events were keyed by another hash function."""
    if not backend.table_exists(KEYING_TABLE):
        return
    stored = backend.scalar(f"SELECT MAX(probe) FROM {KEYING_TABLE}")
    if stored is not None and int(stored) != probe:
        raise InputError(
            "stg_events was keyed by an engine whose event-key hash differs from this one's "
            "(a DuckDB upgrade?): re-staged events would get new keys and triggers would decide "
            "them again. Use the DuckDB that staged it, or run `cdp stage --full-refresh` to "
            "re-key every event (starts already decided within a trigger's window may fire again)"
        )


def _count_raw(backend: Backend, plan: ShardPlan) -> int:
    total = 0
    for prefix, suffixes in ((DAILY_PREFIX, plan.daily), (INTRADAY_PREFIX, plan.intraday)):
        if suffixes:
            query = exp.select(exp.Count(this=exp.Star())).from_(
                backend.shard_scan(prefix, suffixes)
            )
            total += int(backend.scalar(query) or 0)
    return total
