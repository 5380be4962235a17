"""Staging speed and memory against the floor (a plain DuckDB scan of the same raw columns).

    python benchmarks/bench_staging.py --sizes 1000000 10000000

For each size: generate the synthetic export (Arrow, part by part: target < 2 min and < 4 GiB
for 10M events), load it into a DuckDB file (the generator writing as it generates; timed
separately, as it is DuckDB's compressed write, not generation), stage it (full refresh), and
scan the raw columns staging reads (the floor). Each phase runs in its own process, so peak RSS
is the phase's own; DuckDB runs with `--memory-limit`. Staging (a full refresh, replacing the
last one) and the floor run `--repeat` times, alternating; the figures are the medians, and
`stage_vs_floor` is the median of the pairs' ratios (the machine is shared and its speed drifts).
Figures: benchmarks/results/staging.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.common import measure, median, middle, write_results

DATA = Path(__file__).parent / "data"
# Every raw column (and record field) the staging query reads, each read the way a scan would.
FLOOR_SQL = """
SELECT COUNT(*), SUM(LENGTH(TO_JSON_STRING(event_params))), COUNT(DISTINCT user_pseudo_id),
       COUNT(user_id), MAX(event_timestamp), COUNT(DISTINCT event_name), MAX(event_date),
       COUNT(privacy_info.analytics_storage), COUNT(privacy_info.ads_storage),
       COUNT(device.category), COUNT(geo.country), COUNT(geo.city), COUNT(platform),
       COUNT(traffic_source.source), COUNT(traffic_source.medium), COUNT(traffic_source.name),
       MAX(batch_event_index), MAX(batch_page_id), MAX(batch_ordering_id)
FROM {shards}
"""


EVENTS_PER_USER_DAY = 11.9  # measured: 12,300 users x 7 days -> 1.02M events with the defaults


def users_for(events: int) -> tuple[int, int]:
    """Users and days giving about `events` events with the generator's defaults."""
    days = 7
    return max(50, round(events / (days * EVENTS_PER_USER_DAY))), days


def _config(events: int) -> Any:
    from fixtures.ga4_generator import GeneratorConfig

    users, days = users_for(events)
    return GeneratorConfig(users=users, days=days, intraday_days=0)


def generate(events: int) -> dict[str, Any]:
    from fixtures.ga4_generator import ShardPart, iter_parts

    config = _config(events)
    rows = 0
    for part in iter_parts(config):
        if isinstance(part, ShardPart):
            rows += part.table.num_rows
        del part  # keep one part alive at a time, as a consumer writing them out would
    return {"users": config.users, "days": config.days, "export_rows": rows}


def load(path: str, events: int, memory_limit: str) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from fixtures.ga4_generator import write_export_streaming

    with DuckDBBackend(path, memory_limit=memory_limit) as backend:
        counts = write_export_streaming(_config(events), backend)
    return {"export_rows": sum(n for name, n in counts.items() if name.startswith("events_"))}


def stage_all(path: str, memory_limit: str) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.config import ParamColumn, StagingSettings
    from cdp.ga4.staging import stage

    settings = StagingSettings(extra_params=[ParamColumn(key="tab_name"), ParamColumn(key="model")])
    with DuckDBBackend(path, memory_limit=memory_limit) as backend:
        report = stage(backend, settings, full_refresh=True)
    return {"rows_read": report.rows_read, "rows_staged": report.rows_staged}


def floor_scan(path: str, memory_limit: str) -> dict[str, Any]:
    from sqlglot import exp

    from cdp import sql as sqlmod
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.ga4.staging import list_shards

    with DuckDBBackend(path, memory_limit=memory_limit) as backend:
        daily, _intraday = list_shards(backend)
        query = sqlmod.parse_one(FLOOR_SQL.replace("{shards}", "__shards__"))
        placeholder = next(t for t in query.find_all(exp.Table) if t.name == "__shards__")
        placeholder.replace(backend.shard_scan("events_", list(daily)))
        backend.query(query)
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit per phase")
    parser.add_argument("--repeat", type=int, default=3, help="runs of stage and floor (median)")
    parser.add_argument(
        "--keep", action="store_true",
        help="keep benchmarks/data/staging_<size>.duckdb (bench_identity --staging-export)",
    )  # fmt: skip
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    runs = []
    for size in args.sizes:
        path = str(DATA / f"staging_{size}.duckdb")
        Path(path).unlink(missing_ok=True)
        generated = measure(generate, size)
        loaded = measure(load, path, size, args.memory_limit)
        stages, floors = [], []
        for _ in range(args.repeat):  # alternating, so each pair sees the same machine load
            stages.append(measure(stage_all, path, args.memory_limit))
            floors.append(measure(floor_scan, path, args.memory_limit))
        staged, floor = median(stages), median(floors)
        ratios = sorted(
            s["seconds"] / max(f["seconds"], 1e-9) for s, f in zip(stages, floors, strict=True)
        )
        runs.append({
            "target_events": size, "memory_limit": args.memory_limit, "generate": generated,
            "load_into_duckdb": loaded, "stage": staged, "floor_scan": floor,
            "stage_runs_seconds": [r["seconds"] for r in stages],
            "floor_runs_seconds": [r["seconds"] for r in floors],
            "stage_vs_floor_runs": [round(r, 2) for r in ratios],
            "stage_vs_floor": round(middle(ratios), 2),  # median of the pairs
        })  # fmt: skip
        print(runs[-1])
        if not args.keep:
            Path(path).unlink(missing_ok=True)
    out = write_results("staging", {"runs": runs, "note": "one run per invocation on 2 cores"})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
