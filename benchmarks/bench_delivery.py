"""Delivery benchmark: payload building (rows/s), then delivering N data extension rows and
M journey events to the local emulator over HTTPS (diff, send, record), with peak RSS.

    .venv/bin/python benchmarks/bench_delivery.py [--rows 100000] [--events 10000]

Writes benchmarks/results/delivery.json. The emulator runs in this process, so the peak RSS
and the delivery times include its work (JSON parsing and row validation on the server side).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from cdp.backends.duckdb import DuckDBBackend
from cdp.delivery import Destinations, build_clients, deliver
from cdp.delivery.payload import payloads, rows_meta
from cdp.salesforce.http import RetryPolicy
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import DeField, run_emulator
from cdp.sandbox.salesforce.server import SANDBOX_ENV
from cdp.specs import validate

OUT = Path(__file__).parent / "results" / "delivery.json"
TS = pa.timestamp("us", tz="UTC")
T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _inputs(backend: DuckDBBackend, rows: int, events: int) -> None:
    n = max(rows, events)
    uids = [f"u{i:08d}" for i in range(n)]
    backend.load_arrow("profiles", pa.table({
        "uid": uids, "crm_record_id": [f"003{i:015d}" for i in range(n)],
        "record_type": ["Contact"] * n, "email": [f"p{i}@example.com" for i in range(n)],
        "opted_out": [False] * n, "customer_type": ["Prospect"] * n,
    }), mode="replace")  # fmt: skip
    backend.load_arrow("audience_members", pa.table({
        "audience": ["bench"] * rows, "uid": uids[:rows], "crm_record_id": [f"003{i:015d}" for i in range(rows)],
        "entered_at": pa.array([T0] * rows, TS), "is_holdout": [False] * rows,
    }), mode="replace")  # fmt: skip
    backend.load_arrow("trigger_firings", pa.table({
        "trigger": ["abandon"] * events, "uid": uids[:events], "start_event_key": ["e1"] * events,
        "fired_at": pa.array([T0] * events, TS), "deliver_after": pa.array([T0] * events, TS),
        "expires_at": pa.array([T0 + timedelta(days=1)] * events, TS), "model": ["EV9"] * events,
    }), mode="replace")  # fmt: skip


def bench_payloads(n: int = 200_000) -> dict[str, float]:
    table = pa.table({
        "_cdp_op": ["add"] * n, "_cdp_key": [f"k{i}" for i in range(n)], "_cdp_hash": ["h"] * n,
        "_cdp_prev_hash": pa.nulls(n, pa.string()), "_cdp_status": pa.nulls(n, pa.string()),
        "_cdp_remote_id": pa.nulls(n, pa.string()), "_cdp_owned": pa.nulls(n, pa.bool_()),
        "_cdp_attempts": [0] * n, "_cdp_first_sent_at": pa.nulls(n, TS),
        "v0": ["bench"] * n, "v1": [f"003{i:015d}" for i in range(n)], "v2": [f"u{i}" for i in range(n)],
        "v3": [f"p{i}@example.com" for i in range(n)], "v4": [True] * n, "v5": pa.array([T0] * n, TS),
    })  # fmt: skip
    started = time.perf_counter()
    meta = rows_meta(table)
    data = payloads(
        table, ["audience_key", "contact_key", "uid", "email", "is_member", "updated_at"]
    )
    seconds = time.perf_counter() - started
    assert len(meta) == len(data) == n
    return {"rows": n, "seconds": round(seconds, 3), "rows_per_s": round(n / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.update(SANDBOX_ENV)
    results: dict[str, object] = {"payload_building": bench_payloads()}
    print("payload building:", results["payload_building"])
    with run_emulator() as emu:
        emu.state.add_data_extension("bench_members", [
            DeField("audience_key", "Text", 100, primary_key=True, nullable=False),
            DeField("contact_key", "Text", 100, primary_key=True, nullable=False),
            DeField("uid", "Text", 100), DeField("email", "EmailAddress", 254),
            DeField("is_member", "Boolean", None), DeField("updated_at", "Date", None),
        ])  # fmt: skip
        emu.state.add_event_definition("APIEvent-bench", [
            DeField("cdp_key", "Text", 200, nullable=False), DeField("email", "EmailAddress", 254),
            DeField("model", "Text", 50),
        ])  # fmt: skip
        dests = validate(Destinations, {"destinations": [
            {"name": "de", "type": "mc_data_extension", "source": {"audience": "bench"},
             "de_key": "bench_members", "primary_key": ["audience_key", "contact_key"],
             "fields": {"contact_key": "crm_record_id", "uid": "uid", "email": "email", "updated_at": "entered_at"},
             "constants": {"audience_key": "bench", "is_member": True}},
            {"name": "journey", "type": "journey_entry", "source": {"triggers": ["abandon"]},
             "event_definition_key": "APIEvent-bench",
             "data": {"cdp_key": "delivery_key", "email": "email", "model": "model"}},
        ]})  # fmt: skip
        settings = SalesforceSettings(
            base_url=emu.base_url, ca_bundle=str(emu.ca_bundle), requests_per_minute=None
        )
        clients = build_clients(settings, dests, policy=RetryPolicy(backoff=0.05, max_backoff=1))
        clients.mc._poll_sleep = lambda s: time.sleep(min(s, 0.05))
        backend = DuckDBBackend(":memory:")
        _inputs(backend, args.rows, args.events)
        for name, count in (("de", args.rows), ("journey", args.events)):
            started = time.perf_counter()
            report = deliver(
                backend,
                dests,
                clients,
                run_id=f"bench-{name}",
                only=[name],
                now=T0 + timedelta(hours=1),
            )
            seconds = time.perf_counter() - started
            d = report[name]
            assert d.sent == count and report.ok, report
            results[f"deliver_{name}"] = {
                "rows": count, "seconds": round(seconds, 2), "rows_per_s": round(count / seconds),
                "requests": len(emu.state.request_log),
            }  # fmt: skip
            print(f"deliver {name}:", results[f"deliver_{name}"])
            emu.state.request_log.clear()
        started = time.perf_counter()
        noop = deliver(backend, dests, clients, run_id="bench-noop", now=T0 + timedelta(hours=1))
        assert all(d.sent == 0 for d in noop.destinations)
        results["noop_rerun_seconds"] = round(time.perf_counter() - started, 2)
        assert len(emu.state.de_rows("bench_members")) == args.rows
        assert len(emu.state.entries("APIEvent-bench")) == args.events
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["note"] = "emulator in the same process: its time and memory are included"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
