"""Benchmark plumbing: run a phase in a fresh process and record its time and peak memory."""

from __future__ import annotations

import json
import multiprocessing as mp
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _child(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], queue: Any) -> None:
    started = time.perf_counter()
    figures = fn(*args)
    figures["seconds"] = round(time.perf_counter() - started, 3)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    queue.put(figures)


def measure(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run `fn(*args)` in a new process so its peak RSS is its own, not the harness's."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(fn, args, queue))
    process.start()
    while True:  # a child that dies without reporting must not hang the benchmark
        try:
            figures: dict[str, Any] = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"{fn.__name__} exited with code {process.exitcode}") from None
    process.join()
    return figures


def middle(values: list[float]) -> float:
    """The median of `values` (the lower middle one for an even count), e.g. of paired ratios."""
    return sorted(values)[(len(values) - 1) // 2]


def median(runs: list[dict[str, Any]], key: str = "seconds") -> dict[str, Any]:
    """The run with the median `key` (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


def read_results(name: str) -> dict[str, Any] | None:
    """Another benchmark's figures (`benchmarks/results/<name>.json`), if it has been run."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    figures: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return figures


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
