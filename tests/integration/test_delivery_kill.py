"""A delivery process killed with SIGKILL mid-run resumes on the next run: the destinations
end equal to the desired state and every journey entry happened exactly once.

The delivery runs in a subprocess (`python -m cdp.delivery`) on a DuckDB file; the emulator
runs here. A `delay` fault on the journey's entry data extension writes makes each batch
slow; the test kills the process while the write for a batch whose events were not yet
fired is in flight (the emulator's fault counter shows the request has arrived).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from cdp.backends.duckdb import DuckDBBackend
from cdp.sandbox.salesforce import Emulator
from cdp.sandbox.salesforce.server import SANDBOX_ENV
from tests.integration.test_delivery_support import (
    campaign_members,
    de_rows,
    declare,
    destinations,
    journey_keys,
    load_inputs,
    people,
    table,
)

ROOT = Path(__file__).parents[2]


def _start(db: Path, spec: Path, emulator: Emulator, run_id: str) -> subprocess.Popen[str]:
    env = os.environ | SANDBOX_ENV
    return subprocess.Popen(
        [
            sys.executable, "-m", "cdp.delivery", "--db", str(db), "--destinations", str(spec),
            "--run-id", run_id, "--base-url", emulator.base_url, "--ca-bundle", str(emulator.ca_bundle),
            "--backoff", "0.01",
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigkill_mid_delivery_then_resume(emulator: Emulator, tmp_path: Path) -> None:
    names = declare(emulator)
    ps = people(emulator, 60)
    db, spec = tmp_path / "cdp.duckdb", tmp_path / "destinations.yaml"
    with DuckDBBackend(db) as backend:
        load_inputs(backend, ps, [p.uid for p in ps], firings=[(p.uid, "k") for p in ps])
    # `now` is wall-clock in the subprocess: make the firings due and unexpired.
    dests = destinations(names, batching={"async_max_rows": 20, "journey_batch": 10})
    spec.write_text(yaml.safe_dump(dests.model_dump(mode="json")))
    with DuckDBBackend(db) as backend:
        backend.execute(
            "UPDATE trigger_firings SET expires_at = TIMESTAMP '2999-01-01 00:00:00+00'"
        )
    slow = emulator.faults.delay(
        f"POST /mc-rest/hub/v1/dataevents/key:{names.entry_de_key}/", 0.5, times=None
    )
    emulator.faults.delay(
        f"PUT /mc-rest/data/v1/async/dataextensions/key:{names.de_key}/", 0.2, times=None
    )

    proc = _start(db, spec, emulator, "killed")
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            fired = len(emulator.state.entries(names.event_key))
            # >= 2 batches fired, and the next batch's entry-DE write has reached the server
            if fired >= 20 and slow.hits > fired // 10:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.005)
        else:
            raise AssertionError("delivery never reached the kill point")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    fired_before = len(emulator.state.entries(names.event_key))
    assert 20 <= fired_before < 60  # killed mid-run

    emulator.faults.clear()
    resumed = _start(db, spec, emulator, "resumed")
    _out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err

    expected = {p.crm_id for p in ps}
    assert set(de_rows(emulator, names.de_key)) == expected
    assert campaign_members(emulator, names.campaign_id) == expected
    keys = journey_keys(emulator, names.event_key)
    assert keys == sorted(f"abandon|{p.uid}|k" for p in ps)  # every entry exactly once
    with DuckDBBackend(db) as backend:
        states = table(
            backend,
            "SELECT destination, status, COUNT(*) AS n FROM delivery_state GROUP BY 1, 2 ORDER BY 1",
        )
        dead = table(backend, "SELECT COUNT(*) AS n FROM dead_letters")
    assert states == [
        {"destination": "campaign", "status": "sent", "n": 60},
        {"destination": "de", "status": "sent", "n": 60},
        {"destination": "journey", "status": "sent", "n": 60},
    ]
    assert dead == [{"n": 0}]
