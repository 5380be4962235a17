"""Segments at scale: 10 audiences, 3 triggers and one funnel over N synthetic stitched events.

    python -m benchmarks.bench_segments --events 1000000
    python -m benchmarks.bench_segments --events 10000000      # the target size (takes a while)

Data: a deterministic `stitched_events` + `profiles` generated in the warehouse itself (GoogleSQL
over GENERATE_ARRAY, so it needs no Python-side memory), written to a DuckDB file. Each phase
(generate, audiences, triggers, funnel) runs in its own process so its peak RSS is its own.
Figures: benchmarks/results/segments.json.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import measure, read_results, write_results

DATA = Path(__file__).parent / "data"
SPECS_DIR = Path(__file__).parent.parent / "fixtures" / "specs"
AS_OF = datetime(2024, 5, 29, 15, 0, tzinfo=UTC)
AS_OF_US = int(AS_OF.timestamp()) * 1_000_000
EVENTS_PER_PERSON = 50

# Deterministic pseudo-random picks from the row number `i` (multiplicative hashing).
_EVENTS_SQL = """
CREATE OR REPLACE TABLE stitched_events AS
WITH base AS (
  SELECT i,
         MOD(i * 2654435761, 4294967296) AS h,
         MOD(i * 40503, 4294967296) AS h2,
         MOD(i * 2246822519, 4294967296) AS h3
  FROM UNNEST(GENERATE_ARRAY(0, @n - 1)) AS i
), picked AS (
  SELECT i,
         MOD(h, @people) AS person,
         @as_of_us - MOD(h2, 28 * 86400) * 1000000 AS ts,
         MOD(h3, 100) AS kind,
         MOD(DIV(h3, 100), 8) AS page,
         MOD(DIV(h3, 800), 3) AS tab,
         MOD(DIV(h3, 2400), 4) AS model
  FROM base
)
SELECT
  FARM_FINGERPRINT(CAST(i AS STRING)) AS event_key,  -- staging's INT64 fingerprint
  TIMESTAMP_MICROS(ts) AS event_ts,
  ts AS event_timestamp,
  DATE(TIMESTAMP_MICROS(ts)) AS event_date,
  FORMAT_DATE('%Y%m%d', DATE(TIMESTAMP_MICROS(ts))) AS shard_date,
  FALSE AS is_provisional,
  CASE WHEN kind < 50 THEN 'page_view' WHEN kind < 60 THEN 'tab_click' WHEN kind < 63 THEN 'test_drive_click'
       WHEN kind < 65 THEN 'form_start' WHEN kind < 66 THEN 'test_drive_submit' WHEN kind < 75 THEN 'session_start'
       ELSE 'user_engagement' END AS event_name,
  CONCAT('c', CAST(person AS STRING)) AS cid,
  CAST(NULL AS STRING) AS uid,
  DIV(ts, 1800000000) AS ga_session_id,
  CONCAT('c', CAST(person AS STRING), '.', CAST(DIV(ts, 1800000000) AS STRING)) AS session_key,
  CASE WHEN kind < 50 THEN CASE page WHEN 0 THEN '/models/ev9' WHEN 1 THEN '/models/ev6' WHEN 2 THEN '/models/sorento'
       WHEN 3 THEN '/models/carnival' WHEN 4 THEN '/showrooms/yeouido' WHEN 5 THEN '/showrooms/gangnam'
       WHEN 6 THEN '/' ELSE '/test-drive/form' END END AS page_path,
  CASE WHEN kind >= 50 AND kind < 60 THEN CASE tab WHEN 0 THEN 'exterior' WHEN 1 THEN 'driving' ELSE 'accessory' END END AS tab_name,
  CASE model WHEN 0 THEN 'ev9' WHEN 1 THEN 'ev6' WHEN 2 THEN 'sorento' ELSE 'carnival' END AS model,
  CAST(MOD(i, 5000) AS INT64) AS engagement_time_msec,
  CASE WHEN MOD(person, 40) = 0 THEN 'No' ELSE 'Yes' END AS analytics_storage,
  CASE MOD(person, 3) WHEN 0 THEN 'mobile' WHEN 1 THEN 'desktop' ELSE 'tablet' END AS device_category,
  CASE WHEN MOD(person, 10) < 7 THEN CONCAT('u', CAST(person AS STRING)) END AS stitched_uid,
  'login' AS attribution
FROM picked
"""

_PROFILES_SQL = """
CREATE OR REPLACE TABLE profiles AS
SELECT CONCAT('u', CAST(p AS STRING)) AS uid, CONCAT('003', CAST(p AS STRING)) AS crm_record_id,
       'Contact' AS record_type, MOD(p, 20) = 0 AS opted_out,
       CASE WHEN MOD(p, 2) = 0 THEN 'prospect' ELSE 'owner' END AS customer_type, TRUE AS crm_matched
FROM UNNEST(GENERATE_ARRAY(0, @people - 1)) AS p
WHERE MOD(p, 10) < 7
"""


def _model_views(model: str, path: str) -> dict[str, Any]:
    return {"kind": "audience", "name": f"{model}_views", "condition": {"events": {
        "event": "page_view", "where": [{"param": "page_path", "prefix": path}], "count": {"gte": 2},
        "window": {"last": "7d"}}}}  # fmt: skip


EXTRA_AUDIENCES: list[dict[str, Any]] = [
    _model_views("ev6", "/models/ev6"),
    _model_views("sorento", "/models/sorento"),
    _model_views("carnival", "/models/carnival"),
    _model_views("gangnam", "/showrooms/gangnam"),
    {"kind": "audience", "name": "recent_not_submitted", "condition": {"all": [
        {"last_event": {"event": "page_view", "within": "3d"}},
        {"not": {"events": {"event": "test_drive_submit", "window": {"last": "28d"}}}}]}},
    {"kind": "audience", "name": "tab_browsers", "condition": {"events": {
        "event": "tab_click", "count": {"between": [2, 5]}, "window": {"last": "14d"}}}},
    {"kind": "audience", "name": "ev9_no_tabs", "holdout_percent": 20, "condition": {"all": [
        {"events": {"event": "page_view", "where": [{"param": "page_path", "equals": "/models/ev9"}]}},
        {"not": {"events": {"event": "tab_click", "where": [{"param": "model", "equals": "ev9"}]}}}]}},
    {"kind": "audience", "name": "prospect_clickers",
     "population": {"crm": [{"param": "customer_type", "equals": "prospect"}]},
     "condition": {"events": {"event": "test_drive_click", "window": {"last": "28d"}}}},
]  # fmt: skip
EXTRA_TRIGGERS: list[dict[str, Any]] = [
    {"kind": "trigger", "name": "form_abandon", "start": {"event": "form_start"},
     "completion": [{"event": "test_drive_submit"}], "wait": "30m", "scope": "session", "expiry": "2d"},
    {"kind": "trigger", "name": "model_no_click", "start": {"event": "page_view", "where": [
        {"param": "page_path", "prefix": "/models/"}]}, "completion": [{"event": "test_drive_click"}],
     "wait": "1h", "cooldown": "24h", "expiry": "3d"},
]  # fmt: skip


def _specs() -> Any:
    from cdp.segments.loader import Specs, load_spec, load_specs

    specs: Specs = load_specs(SPECS_DIR, {"tab_name": "string", "model": "string"})
    known = {"tab_name": "string", "model": "string"}
    from cdp.segments.columns import event_columns, profile_columns

    events, profiles = event_columns(extra=known), profile_columns()
    specs.audiences += [load_spec(d, events=events, profiles=profiles) for d in EXTRA_AUDIENCES]  # type: ignore[misc]
    specs.triggers += [load_spec(d, events=events, profiles=profiles) for d in EXTRA_TRIGGERS]  # type: ignore[misc]
    return specs


def generate(path: str, events: int) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend

    people = max(10, events // EVENTS_PER_PERSON)
    with DuckDBBackend(path) as backend:
        params = {"n": events, "people": people, "as_of_us": AS_OF_US}
        backend.execute(_EVENTS_SQL, params)
        backend.execute(_PROFILES_SQL, params)
        for table in (
            "audience_members",
            "audience_changes",
            "audience_runs",
            "trigger_firings",
            "trigger_decisions",
            "funnel_stats",
        ):
            backend.execute(f"DROP TABLE IF EXISTS {table}")
        rows = int(backend.scalar("SELECT COUNT(*) FROM stitched_events") or 0)
    return {"events": rows, "people": people}


def audiences(path: str) -> dict[str, Any]:
    import time

    from cdp.audiences import run_audience
    from cdp.backends.duckdb import DuckDBBackend

    specs = _specs()
    per: dict[str, Any] = {}
    with DuckDBBackend(path) as backend:
        for spec in specs.audiences:
            started = time.perf_counter()
            result = run_audience(backend, spec, AS_OF)
            per[spec.name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "members": result.members,
            }
    return {"audiences": len(per), "per_audience": per}


def triggers(path: str) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.segments.durations import Duration
    from cdp.triggers import TriggerSettings, detect_triggers

    specs = _specs()
    with DuckDBBackend(path) as backend:
        report = detect_triggers(
            backend, specs.triggers, now=AS_OF, settings=TriggerSettings(lookback=Duration(days=7))
        )
    return {
        "triggers": len(specs.triggers),
        "decisions": {f"{t}:{s}": n for (t, s), n in report.counts().items()},
    }


def funnel(path: str) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.funnels import run_funnels

    specs = _specs()
    with DuckDBBackend(path) as backend:
        [report] = run_funnels(backend, specs.funnels, AS_OF)
    return {
        "entries": report.totals[0].reached if report.totals else 0,
        "dropoff_audiences": len(report.dropoffs),
    }


def _against_stitching(events: int, seconds: float) -> dict[str, Any]:
    """The full identity build of about as many events (benchmarks/results/identity.json)."""
    identity = read_results("identity")
    if identity is None or abs(identity.get("events", 0) - events) > 0.05 * events:
        return {}
    stitching = identity["full_build"]["seconds"]
    return {"stitching_seconds": stitching, "segments_vs_stitching": round(seconds / stitching, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--keep", action="store_true", help="keep the DuckDB files in benchmarks/data"
    )
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.events:
        path = str(DATA / f"segments_{n}.duckdb")
        run: dict[str, Any] = {"events": n}
        for name, phase in (
            ("generate", generate),
            ("audiences", audiences),
            ("triggers", triggers),
            ("funnel", funnel),
        ):
            run[name] = measure(phase, path, n) if phase is generate else measure(phase, path)
            print(
                f"{n:>11,} events  {name:<10} {run[name]['seconds']:>8.2f}s  peak {run[name]['peak_rss_mib']:>8.1f} MiB"
            )
        run["segments_seconds"] = round(
            sum(run[k]["seconds"] for k in ("audiences", "triggers", "funnel")), 3
        )
        run.update(_against_stitching(n, run["segments_seconds"]))
        runs.append(run)
        if not args.keep:
            Path(path).unlink(missing_ok=True)
            Path(path + ".wal").unlink(missing_ok=True)
    print(write_results("segments", {"runs": runs}))


if __name__ == "__main__":
    main()
