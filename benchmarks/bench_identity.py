"""Identity stitching at scale: full build, one new day incremental, and peak memory.

    .venv/bin/python -m benchmarks.bench_identity --events 10000000 --days 30
    .venv/bin/python -m benchmarks.bench_identity --events 2000000      # a quicker look
    .venv/bin/python -m benchmarks.bench_identity --days 90 --results identity_90days

Data: a deterministic synthetic `stg_events` (the staged columns, ~1/30 of it per shard date)
written to a DuckDB file under benchmarks/data/. Phases, each in its own process (so its peak
RSS is its own): load `--days` days; a full build; a scan of the staged columns identity reads
(a local floor); append ONE new day and run the incremental build; a full rebuild over the same
data for comparison. The last two run `--repeat` times, in pairs (each incremental on a copy of
the state after the full build, then a rebuild), and the median is reported: the machine is
shared and noisy. `incremental_vs_full` = the median of the pairs' incremental build / full
rebuild (target < 0.1); `incremental_small_day` is the same run with a new day of `--small-day`
events: the part of its cost that does not follow the day's size. `full_vs_staging_floor`
compares the full builds' time per event with the staging benchmark's raw-export scan (target
3x): that scan runs right after each build when `--staging-export` names the export
`bench_staging --keep` left; else the figure in benchmarks/results/staging.json is used.
Figures: benchmarks/results/identity.json (or `--results`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import measure, median, middle, read_results, write_results

DATA = Path(__file__).parent / "data"
START = datetime(2024, 5, 1, tzinfo=UTC)
DAY_US = 86_400 * 1_000_000
# What identity reads of stg_events, scanned once: the cheapest any stitching could be (a local
# reference; the target compares with the staging floor, `--staging-export`).
FLOOR_SQL = """
SELECT COUNT(*), COUNT(DISTINCT cid), COUNT(DISTINCT uid), MAX(event_ts), MAX(event_key),
       MAX(shard_date), COUNT(DISTINCT ga_session_id)
FROM stg_events
"""


def shard_of(day: int) -> str:
    return (START.date() + timedelta(days=day)).strftime("%Y%m%d")


def synthetic_day(day: int, n: int, devices: int, offset: int) -> Any:
    """`n` staged events of shard date `day` (a pyarrow Table with the stg_events columns).

    ~1/8 of all devices are active on a day, busy ones more than others; owners (~1.6 devices
    per person) are logged in on ~30% of events; ~3% of devices are shared by two people; 3% of
    rows are consent-denied (no CID); 0.5% carry the junk UID 'undefined'; 1% arrive late (their
    event time is on the previous day).
    """
    import polars as pl
    import pyarrow as pa

    def uniform(index: pl.Expr, seed: int) -> pl.Expr:
        """A deterministic pseudo-random float in [0, 1) per row."""
        return (index.hash(seed) % 1_000_000).cast(pl.Float64) / 1_000_000

    i = pl.int_range(offset, offset + n, dtype=pl.Int64)
    start_us = int(START.timestamp() * 1_000_000) + day * DAY_US
    persons = max(1, devices * 5 // 8)
    frame = pl.select(
        key=i,
        device=(
            ((uniform(i, 1) ** 2) * (devices // 8 + 1)).cast(pl.Int64).hash(day) % devices
        ).cast(pl.Int64),
        ts=start_us
        + (uniform(i, 2) * DAY_US).cast(pl.Int64)
        - pl.when(uniform(i, 8) < 0.01).then(DAY_US).otherwise(0),
        logged=uniform(i, 3) < 0.3,
        denied=uniform(i, 4) < 0.03,
        junk=uniform(i, 5) < 0.005,
        second=uniform(i, 6) < 0.5,
        kind=(uniform(i, 7) * 100).cast(pl.Int64),
    ).with_columns(
        person=pl.when((pl.col("device") % 33 == 0) & pl.col("second"))
        .then((pl.col("device") * 7 + 3) % persons)
        .otherwise(pl.col("device") * 5 // 8),
        session=pl.col("ts") // (1_800 * 1_000_000),
        page=pl.col("kind") % 7,
    )
    cid = pl.when(~pl.col("denied")).then(pl.format("{}.1700000000", pl.col("device")))
    path = pl.format("/models/m{}", pl.col("page"))
    when = pl.from_epoch("ts", time_unit="us")
    out = frame.select(
        event_key=(pl.col("key").hash(9) // 2).cast(pl.Int64),  # staging's 63-bit fingerprint
        event_ts=when.dt.replace_time_zone("UTC"),
        event_timestamp=pl.col("ts"),
        event_date=when.dt.date(),
        shard_date=pl.lit(shard_of(day)),
        is_provisional=pl.lit(False),
        event_name=pl.when(pl.col("kind") < 60)
        .then(pl.lit("page_view"))
        .when(pl.col("kind") < 85)
        .then(pl.lit("scroll"))
        .otherwise(pl.lit("user_engagement")),
        cid=cid,
        uid=pl.when(pl.col("junk"))
        .then(pl.lit("undefined"))
        .when(pl.col("logged"))
        .then(pl.format("U{}", pl.col("person"))),
        ga_session_id=pl.when(~pl.col("denied")).then(pl.col("session")),
        ga_session_number=pl.when(~pl.col("denied")).then(pl.col("kind") % 5 + 1),
        page_location=pl.format("https://www.example.com{}", path),
        page_title=pl.format("Model {}", pl.col("page")),
        page_referrer=pl.lit("https://www.google.com/"),
        engagement_time_msec=pl.col("key") % 5000,
        analytics_storage=pl.when(pl.col("denied")).then(pl.lit("No")).otherwise(pl.lit("Yes")),
        ads_storage=pl.when(pl.col("denied")).then(pl.lit("No")).otherwise(pl.lit("Yes")),
        device_category=pl.when(pl.col("device") % 3 == 0)
        .then(pl.lit("desktop"))
        .otherwise(pl.lit("mobile")),
        country=pl.lit("South Korea"),
        city=pl.when(pl.col("device") % 2 == 0).then(pl.lit("Seoul")).otherwise(pl.lit("Busan")),
        platform=pl.lit("WEB"),
        traffic_source=pl.lit("google"),
        traffic_medium=pl.lit("organic"),
        traffic_campaign=pl.lit("(organic)"),
        session_key=pl.format("{}.{}", cid, pl.col("session")),
        page_path=path,
    ).to_arrow()
    plain = [
        f.with_type(pa.string()) if pa.types.is_string_view(f.type) or pa.types.is_large_string(f.type)
        else f
        for f in out.schema
    ]  # fmt: skip
    return out.cast(pa.schema(plain))


def _backend(path: str, memory_limit: str | None, threads: int | None) -> Any:
    from cdp.backends.duckdb import DuckDBBackend

    return DuckDBBackend(path, memory_limit=memory_limit, threads=threads)


def _report(report: Any) -> dict[str, Any]:
    return {
        "mode": report.mode,
        "build_seconds": round(report.seconds, 3),
        "cids_recomputed": report.cids_recomputed,
        "events_recomputed": report.events_recomputed,
        "links": report.links,
        "uids": report.uids,
        "suspicious_uids": report.suspicious_uids,
        "shared_devices": report.shared_devices,
        "junk_events": report.junk_events,
    }


def load(path: str, per_day: int, days: int, devices: int, memory_limit: str | None,
         threads: int | None) -> dict[str, Any]:  # fmt: skip
    with _backend(path, memory_limit, threads) as backend:
        for day in range(days):
            data = synthetic_day(day, per_day, devices, day * per_day)
            backend.load_arrow("stg_events", data, mode="replace" if day == 0 else "append")
        rows = int(backend.scalar("SELECT COUNT(*) FROM stg_events") or 0)
    return {"staged_events": rows}


def full_build(path: str, memory_limit: str | None, threads: int | None) -> dict[str, Any]:
    from cdp.config import IdentitySettings
    from cdp.identity import build_identity

    with _backend(path, memory_limit, threads) as backend:
        report = build_identity(backend, IdentitySettings(), full_refresh=True)
    return _report(report)


def floor_scan(path: str, memory_limit: str | None, threads: int | None) -> dict[str, Any]:
    with _backend(path, memory_limit, threads) as backend:
        started = time.perf_counter()
        backend.query(FLOOR_SQL)
        return {"scan_seconds": round(time.perf_counter() - started, 3)}


def new_day(path: str, day: int, events: int, offset: int, devices: int,
            memory_limit: str | None, threads: int | None) -> dict[str, Any]:  # fmt: skip
    """Stage one more shard date of `events` rows, as staging would (append), then run identity
    incrementally. `offset`: the first synthetic row index (past those already loaded)."""
    from cdp.config import IdentitySettings
    from cdp.identity import build_identity

    with _backend(path, memory_limit, threads) as backend:
        started = time.perf_counter()
        backend.load_arrow("stg_events", synthetic_day(day, events, devices, offset))
        append = time.perf_counter() - started
        report = build_identity(backend, IdentitySettings(), changed_dates=[shard_of(day)])
    return {"new_day_events": events, "append_seconds": round(append, 3), **_report(report)}


def staging_floor(export: str) -> dict[str, Any]:
    """The staging benchmark's floor, as it runs it: one scan of the raw fields staging reads."""
    from benchmarks.bench_staging import floor_scan

    return floor_scan(export, "3GB")  # bench_staging's default memory_limit


def export_events(export: str) -> dict[str, Any]:
    """How many raw events the export holds (the staging floor scans them all)."""
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.ga4.staging import list_shards

    with DuckDBBackend(export, memory_limit="3GB") as backend:
        daily, _intraday = list_shards(backend)
        union = " UNION ALL ".join(f"SELECT COUNT(*) AS n FROM ga4.events_{d}" for d in daily)
        return {"events": int(backend.scalar(f"SELECT SUM(n) FROM ({union})") or 0)}


def _vs_staging_floor(builds: list[dict[str, Any]], floors: list[dict[str, Any]],
                      export_event_count: int, events: int) -> dict[str, Any]:  # fmt: skip
    """Full build / staging floor: the median of paired runs, or against staging.json's figure.

    Paired runs compare time per event (the rebuilds read the new day too) and, like the
    staging benchmark, each phase's whole process time.
    """
    if floors:
        ratios = [
            (b["seconds"] / b["events_recomputed"]) / (f["seconds"] / export_event_count)
            for b, f in zip(builds, floors, strict=True)
        ]
        return {
            "full_vs_staging_floor": round(middle(ratios), 2),
            "full_vs_staging_floor_pairs": [round(r, 2) for r in ratios],
            "staging_floor_runs_seconds": [f["seconds"] for f in floors],
            "staging_export_events": export_event_count,
        }
    staging = read_results("staging")
    runs = staging.get("runs", []) if staging else []
    seconds = [r["floor_scan"]["seconds"] for r in runs if r.get("target_events") == events]
    if not seconds:
        return {"full_vs_staging_floor": None}
    return {"full_vs_staging_floor": round(builds[0]["seconds"] / seconds[-1], 2),
            "staging_floor_from": "benchmarks/results/staging.json"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=10_000_000, help="staged events before the new day"
    )
    parser.add_argument("--days", type=int, default=30, help="shard dates they span")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit per phase")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the incremental and of the full rebuild (median reported)",
    )
    parser.add_argument(
        "--small-day", type=int, default=1000,
        help="events of the small new day (the incremental run's fixed cost)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the DuckDB files afterwards")
    parser.add_argument(
        "--results", default="identity",
        help="name of the figures file under benchmarks/results/ (another history length, say)",
    )  # fmt: skip
    parser.add_argument(
        "--staging-export", default=None,
        help="a raw export DuckDB file (bench_staging --keep): its floor is run after each build",
    )  # fmt: skip
    args = parser.parse_args()  # fmt: skip

    per_day = args.events // args.days
    devices = max(10, args.events // 40)
    DATA.mkdir(parents=True, exist_ok=True)
    path = str(DATA / f"identity_{args.events}.duckdb")
    base = str(DATA / f"identity_{args.events}.base.duckdb")  # the state after the full build
    for stale in (path, base):
        Path(stale).unlink(missing_ok=True)
        Path(stale + ".wal").unlink(missing_ok=True)
    engine = (args.memory_limit, args.threads)

    loaded = measure(load, path, per_day, args.days, devices, *engine)
    print("load", loaded, flush=True)
    floors: list[dict[str, Any]] = []
    export_event_count = (
        measure(export_events, args.staging_export)["events"] if args.staging_export else 0
    )

    def floor_after_build() -> None:
        if args.staging_export:
            floors.append(measure(staging_floor, args.staging_export))
            print("staging floor", floors[-1], flush=True)

    full = measure(full_build, path, *engine)
    print("full build", full, flush=True)
    floor_after_build()
    floor = measure(floor_scan, path, *engine)
    print("floor scan", floor, flush=True)
    shutil.copyfile(path, base)
    # Each repeat: the incremental on a copy of the state after the full build, then a full
    # rebuild of the same data. Paired runs share the machine's phase (its speed drifts by ~30%).
    incrementals, rebuilds = [], []
    for _ in range(max(1, args.repeat)):
        shutil.copyfile(base, path)
        incrementals.append(
            measure(new_day, path, args.days, per_day, args.days * per_day, devices, *engine)
        )
        print("new day, incremental", incrementals[-1], flush=True)
        rebuilds.append(measure(full_build, path, *engine))
        print("full rebuild after the new day", rebuilds[-1], flush=True)
        floor_after_build()
    ratios = [i["build_seconds"] / max(r["build_seconds"], 1e-9)
              for i, r in zip(incrementals, rebuilds, strict=True)]  # fmt: skip
    # The same incremental run with a new day of a few events: its cost that does not follow
    # the new day's size (reading the touched CIDs' state and history, fixed per statement).
    smalls = []
    for _ in range(max(1, args.repeat)):
        shutil.copyfile(base, path)
        smalls.append(measure(new_day, path, args.days, args.small_day, args.days * per_day,
                              devices, *engine))  # fmt: skip
        print("small new day, incremental", smalls[-1], flush=True)
    if not args.keep:
        for done in (path, base):
            Path(done).unlink(missing_ok=True)
    incremental, rebuild = median(incrementals, "build_seconds"), median(rebuilds, "build_seconds")

    figures = {
        "events": per_day * args.days,
        "days": args.days,
        "devices": devices,
        "first_date": START.date().isoformat(),
        "new_date": (START.date() + timedelta(days=args.days)).isoformat(),
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "load": loaded,
        "full_build": full,
        "floor_scan": floor,
        "incremental_new_day": incremental,
        "incremental_build_seconds_runs": [r["build_seconds"] for r in incrementals],
        "full_rebuild_after_new_day": rebuild,
        "full_rebuild_build_seconds_runs": [r["build_seconds"] for r in rebuilds],
        "full_build_events_per_second": round(loaded["staged_events"] / full["build_seconds"]),
        "full_vs_floor": round(full["build_seconds"] / max(floor["scan_seconds"], 1e-9), 2),
        **_vs_staging_floor([full, *rebuilds], floors, export_event_count, args.events),
        "incremental_vs_full": round(middle(ratios), 3),
        "incremental_vs_full_pairs": [round(r, 3) for r in ratios],
        "incremental_small_day": median(smalls, "build_seconds"),
        "incremental_small_day_build_seconds_runs": [r["build_seconds"] for r in smalls],
        "peak_rss_mib": max(p["peak_rss_mib"] for p in (full, *incrementals, *rebuilds)),
        "note": "each phase in its own process; DuckDB file on local disk; shared 2-core machine",
    }  # fmt: skip
    out = write_results(args.results, figures)
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
