"""`cdp demo`: the whole pipeline on synthetic data, delivering to the local emulator."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from cdp.config import Settings, open_backend
from cdp.demo import demo_settings, generate_export, logged_in_uids
from flows.pipeline import deliver_to_salesforce, pipeline_flow


@task(cache_policy=NO_CACHE)
def generate_fixtures(settings: Settings, users: int, days: int, seed: int) -> int:
    with open_backend(settings) as backend:
        return generate_export(backend, users, days, seed)


@task(cache_policy=NO_CACHE)
def demo_uids(settings: Settings) -> list[str]:
    with open_backend(settings) as backend:
        return logged_in_uids(backend)


@task(cache_policy=NO_CACHE)
def firings_due_next(settings: Settings, after: datetime | None) -> datetime | None:
    from cdp.triggers import next_due

    if after is None:
        return None
    with open_backend(settings) as backend:
        return next_due(backend, after)


@flow(name="cdp-demo")
def demo_flow(
    db_path: str = ".cdp/demo.duckdb", users: int = 2000, days: int = 7, seed: int = 7
) -> dict[str, Any]:
    from cdp.sandbox.salesforce import EmulatorState, run_emulator, seed_demo_org
    from cdp.sandbox.salesforce.server import SANDBOX_ENV

    settings = demo_settings(db_path)
    events = generate_fixtures(settings, users, days, seed)
    state = EmulatorState()
    seed_demo_org(state, demo_uids(settings), seed)
    for name, value in SANDBOX_ENV.items():
        os.environ.setdefault(name, value)
    with run_emulator(state, cert_dir=".cdp/sandbox") as emulator:
        sf = settings.salesforce.model_copy(
            update={"base_url": emulator.base_url, "ca_bundle": str(emulator.ca_bundle)}
        )
        live = settings.model_copy(update={"salesforce": sf})
        summary = pipeline_flow(
            live, run_id=f"demo-{uuid.uuid4().hex[:8]}", full_refresh=True, replay=True
        )
        # Firings held back by quiet hours go out with the first scheduled run after them:
        # replay that run's delivery, so the journey's entry events are part of the demo.
        due = firings_due_next(live, summary["clock"])
        if due is not None:
            summary["delivery_when_due"] = {
                "at": due.isoformat(),
                **deliver_to_salesforce(live, f"demo-{uuid.uuid4().hex[:8]}", now=due),
            }
        summary["salesforce"] = {
            "data_extension_rows": {
                k: len(state.de_rows(k)) for k in ("cdp_audience_members", "cdp_trigger_firings")
            },
            "campaign_members": len(state.all("CampaignMember")),
            "journey_entries": len(state.journey_entries),
        }
    summary["generated_events"] = events
    return summary
