"""A Salesforce emulator (Sales Cloud + Marketing Cloud) served over HTTPS on loopback.

Entry points: `run_emulator()` / `start_emulator()` (tests), `serve_forever()` (the CLI),
`seed_demo_org()` (align the demo org with synthetic GA4 users). See `server.py`.
"""

from __future__ import annotations

from cdp.sandbox.salesforce.demo import DemoOrg, seed_demo_org
from cdp.sandbox.salesforce.faults import FaultPlan
from cdp.sandbox.salesforce.schema import DeField
from cdp.sandbox.salesforce.server import Emulator, run_emulator, serve_forever, start_emulator
from cdp.sandbox.salesforce.state import EmulatorConfig, EmulatorState

__all__ = [
    "DeField",
    "DemoOrg",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "FaultPlan",
    "run_emulator",
    "seed_demo_org",
    "serve_forever",
    "start_emulator",
]
