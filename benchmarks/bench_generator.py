"""Time and peak memory of the GA4 generator; figures go to benchmarks/results/generator.json.

    .venv/bin/python benchmarks/bench_generator.py --users 12000 --days 7 --mode memory
    .venv/bin/python benchmarks/bench_generator.py --users 120000 --days 7 --mode stream

Each run is one process, so the peak RSS (ru_maxrss) belongs to that run alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from fixtures.ga4_generator import GeneratorConfig, generate, iter_days

RESULTS = Path(__file__).parent / "results" / "generator.json"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run(config: GeneratorConfig, mode: str) -> dict[str, object]:
    start = time.perf_counter()
    if mode == "memory":
        export = generate(config)
        events = sum(t.num_rows for t in export.tables.values())
        held = sum(t.nbytes for t in export.tables.values())
    elif mode == "stream":
        events, held = 0, 0
        for shard in iter_days(config):
            events += shard.table.num_rows
            del shard  # else the loop variable keeps a day alive while the next one is built
    else:  # parquet: stream and write each shard, as a warehouse load would
        import pyarrow.parquet as pq

        events, held = 0, 0
        with tempfile.TemporaryDirectory() as tmp:
            for shard in iter_days(config):
                pq.write_table(shard.table, Path(tmp) / f"events_{shard.suffix}.parquet")
                events += shard.table.num_rows
                del shard
    seconds = time.perf_counter() - start
    return {
        "mode": mode,
        "users": config.users,
        "days": config.days,
        "events": events,
        "seconds": round(seconds, 1),
        "events_per_second": round(events / seconds),
        "peak_rss_mib": round(_peak_rss_mib()),
        "tables_bytes_mib": round(held / 2**20),
        "config": {k: str(v) for k, v in asdict(config).items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=12_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["memory", "stream", "parquet"], default="memory")
    args = parser.parse_args()
    result = run(GeneratorConfig(seed=args.seed, users=args.users, days=args.days), args.mode)
    print(json.dumps({k: v for k, v in result.items() if k != "config"}))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    history.append(result)
    RESULTS.write_text(json.dumps(history, indent=2) + "\n")


if __name__ == "__main__":
    main()
