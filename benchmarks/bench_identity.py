"""Identity stitching benchmark on synthetic `stg_events` (DuckDB, on disk).

    .venv/bin/python benchmarks/bench_identity.py --events 10000000 --days 30

Figures: full build time for N staged events; one new day added, incremental vs full rebuild;
peak RSS of this process (DuckDB runs in-process). Written to benchmarks/results/identity.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import write_results
from cdp.backends.duckdb import DuckDBBackend
from cdp.config import IdentitySettings
from cdp.identity import build_identity

START = datetime(2024, 5, 1, tzinfo=UTC)
DAY_US = 86_400 * 1_000_000


def _uniform(index: pl.Expr, seed: int) -> pl.Expr:
    """A deterministic pseudo-random float in [0, 1) per row (no numpy here)."""
    return (index.hash(seed) % 1_000_000).cast(pl.Float64) / 1_000_000


def synthetic_day(day: int, n: int, devices: int, offset: int) -> pa.Table:
    """`n` events of one day. A day's devices are a skewed sample of all devices; owners
    (~1.6 devices per person) are logged in on ~30% of events; ~3% of devices are shared by
    two people; 3% of rows are consent-denied; 0.5% carry the junk UID 'undefined'."""
    i = pl.int_range(offset, offset + n, dtype=pl.Int64)
    start_us = int(START.timestamp() * 1_000_000) + day * DAY_US
    persons = max(1, devices * 5 // 8)
    frame = pl.select(
        key=i,
        # ~1/8 of the devices are active on a given day, busy ones more than others.
        device=(
            ((_uniform(i, 1) ** 2) * (devices // 8 + 1)).cast(pl.Int64).hash(day) % devices
        ).cast(pl.Int64),
        ts=start_us + (_uniform(i, 2) * DAY_US).cast(pl.Int64),
        logged=_uniform(i, 3) < 0.3,
        denied=_uniform(i, 4) < 0.03,
        junk=_uniform(i, 5) < 0.005,
        second=_uniform(i, 6) < 0.5,
        name=pl.when(_uniform(i, 7) < 0.7).then(pl.lit("page_view")).otherwise(pl.lit("scroll")),
    ).with_columns(
        person=pl.when((pl.col("device") % 33 == 0) & pl.col("second"))
        .then((pl.col("device") * 7 + 3) % persons)
        .otherwise(pl.col("device") * 5 // 8),
        session=pl.col("ts") // (1_800 * 1_000_000),
    )
    cid = pl.when(~pl.col("denied")).then(pl.format("{}.1700000000", pl.col("device")))
    out = frame.select(
        event_key=pl.col("key").cast(pl.String).str.zfill(12),
        event_ts=pl.from_epoch("ts", time_unit="us").dt.replace_time_zone("UTC"),
        event_timestamp=pl.col("ts"),
        event_date=pl.from_epoch("ts", time_unit="us").dt.date(),
        shard_date=pl.lit(
            (START.date().fromordinal(START.date().toordinal() + day)).strftime("%Y%m%d")
        ),
        is_provisional=pl.lit(False),
        event_name=pl.col("name"),
        cid=cid,
        uid=pl.when(pl.col("junk"))
        .then(pl.lit("undefined"))
        .when(pl.col("logged"))
        .then(pl.format("U{}", pl.col("person"))),
        ga_session_id=pl.col("session"),
        session_key=pl.format("{}.{}", cid, pl.col("session")),
        page_path=pl.lit("/"),
    )
    return out.to_arrow().cast(
        pa.schema(
            [
                f.with_type(pa.string())
                if pa.types.is_string_view(f.type) or pa.types.is_large_string(f.type)
                else f
                for f in out.to_arrow().schema
            ]
        )
    )


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=10_000_000, help="staged events before the new day"
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    per_day = args.events // args.days
    devices = max(10, args.events // 40)
    settings = IdentitySettings()
    figures: dict[str, Any] = {"events": per_day * args.days, "days": args.days, "devices": devices}
    with tempfile.TemporaryDirectory() as tmp:
        backend = DuckDBBackend(Path(tmp) / "bench.duckdb", threads=args.threads)
        t0 = time.perf_counter()
        for day in range(args.days):
            backend.load_arrow("stg_events", synthetic_day(day, per_day, devices, day * per_day),
                               mode="replace" if day == 0 else "append")  # fmt: skip
        figures["load_seconds"] = round(time.perf_counter() - t0, 2)

        report = build_identity(backend, settings, full_refresh=True)
        figures["full_build_seconds"] = round(report.seconds, 2)
        figures["full_build_events_per_second"] = round(figures["events"] / report.seconds)
        figures["links"], figures["shared_devices"] = report.links, report.shared_devices
        figures["suspicious_uids"], figures["junk_events"] = (
            report.suspicious_uids,
            report.junk_events,
        )

        new_day = synthetic_day(args.days, per_day, devices, args.days * per_day)
        backend.load_arrow("stg_events", new_day, mode="append")
        shard = new_day.column("shard_date")[0].as_py()
        inc = build_identity(backend, settings, changed_dates=[shard])
        figures["new_day_events"] = per_day
        figures["incremental_seconds"] = round(inc.seconds, 2)
        figures["incremental_cids_recomputed"] = inc.cids_recomputed
        figures["incremental_events_recomputed"] = inc.events_recomputed
        full = build_identity(backend, settings, full_refresh=True)
        figures["full_rebuild_after_new_day_seconds"] = round(full.seconds, 2)
        figures["peak_rss_mib"] = round(rss_mib(), 1)
        backend.close()

    path = write_results("identity", figures)
    print(json.dumps(figures, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
