"""Staging speed and memory against the floor (a plain DuckDB scan of the same raw columns).

    python benchmarks/bench_staging.py --sizes 1000000 10000000

For each size: generate a synthetic export into a DuckDB file (timed: target < 2 min for 10M
events), stage it (full refresh), and scan the raw columns staging reads (the floor). Each phase
runs in its own process, so peak RSS is the phase's own. Figures: benchmarks/results/staging.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.common import measure, write_results

DATA = Path(__file__).parent / "data"
# Columns the staging query touches, read the way a scan would read them.
FLOOR_SQL = """
SELECT COUNT(*), SUM(LENGTH(TO_JSON_STRING(event_params))), COUNT(DISTINCT user_pseudo_id),
       COUNT(user_id), MAX(event_timestamp), COUNT(DISTINCT event_name), MAX(event_date),
       COUNT(privacy_info.analytics_storage), COUNT(device.category), COUNT(geo.city),
       COUNT(traffic_source.source), MAX(batch_event_index), MAX(batch_page_id), MAX(batch_ordering_id)
FROM {shards}
"""


EVENTS_PER_USER_DAY = 11.9  # measured: 12,300 users x 7 days -> 1.02M events with the defaults


def users_for(events: int) -> tuple[int, int]:
    """Users and days giving about `events` events with the generator's defaults."""
    days = 7
    return max(50, round(events / (days * EVENTS_PER_USER_DAY))), days


def generate(path: str, events: int) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from fixtures.ga4_generator import GeneratorConfig, generate, write_export

    users, days = users_for(events)
    export = generate(GeneratorConfig(users=users, days=days, intraday_days=0))
    with DuckDBBackend(path) as backend:
        write_export(export, backend)
    return {
        "users": users,
        "days": days,
        "export_rows": sum(t.num_rows for t in export.tables.values()),
    }


def stage_all(path: str) -> dict[str, Any]:
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.config import ParamColumn, StagingSettings
    from cdp.ga4.staging import stage

    settings = StagingSettings(extra_params=[ParamColumn(key="tab_name"), ParamColumn(key="model")])
    with DuckDBBackend(path) as backend:
        report = stage(backend, settings, full_refresh=True)
    return {"rows_read": report.rows_read, "rows_staged": report.rows_staged}


def floor_scan(path: str) -> dict[str, Any]:
    from sqlglot import exp

    from cdp import sql as sqlmod
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.ga4.staging import list_shards

    with DuckDBBackend(path) as backend:
        daily, _intraday = list_shards(backend)
        query = sqlmod.parse_one(FLOOR_SQL.replace("{shards}", "__shards__"))
        placeholder = next(t for t in query.find_all(exp.Table) if t.name == "__shards__")
        placeholder.replace(backend.shard_scan("events_", list(daily)))
        backend.query(query)
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    runs = []
    for size in args.sizes:
        path = str(DATA / f"staging_{size}.duckdb")
        Path(path).unlink(missing_ok=True)
        generated = measure(generate, path, size)
        staged = measure(stage_all, path)
        floor = measure(floor_scan, path)
        runs.append({
            "target_events": size, "generate": generated, "stage": staged, "floor_scan": floor,
            "stage_vs_floor": round(staged["seconds"] / max(floor["seconds"], 1e-9), 2),
        })  # fmt: skip
        print(runs[-1])
        Path(path).unlink(missing_ok=True)
    out = write_results("staging", {"runs": runs})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
