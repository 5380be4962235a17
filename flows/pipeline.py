"""The production pipeline: stage -> CRM pull -> identity -> audiences/triggers/funnels -> delivery.

Each task opens the configured backend and calls one `cdp` function; transient failures
(throttling, 5xx, timeouts) are retried by Prefect, terminal ones fail at once.
Serve it on a schedule with `python -m flows.pipeline --serve --cron "*/15 * * * *"`.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, serve, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.tasks import exponential_backoff

from cdp.config import Settings, load_settings, open_backend
from cdp.summary import staging_summary
from flows.staging import stage_events
from flows.tasks import retry_only_transient

RETRYING: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=10),
    "retry_condition_fn": retry_only_transient,
    "cache_policy": NO_CACHE,
}


@task(**RETRYING)
def pull_crm(settings: Settings) -> int:
    from cdp.identity import load_crm
    from cdp.salesforce.crm_pull import sync_crm
    from cdp.salesforce.sales_cloud import SalesCloudClient

    with open_backend(settings) as backend:
        if settings.crm.source != "salesforce":
            return load_crm(backend, settings.crm, Path("."))
        rows, mode = sync_crm(SalesCloudClient(settings.salesforce), backend)
        get_run_logger().info("CRM pull (%s): %d rows", mode, rows)
        return rows


@task(**RETRYING)
def stitch_identities(settings: Settings, full_refresh: bool) -> dict[str, Any]:
    from cdp.identity import build_identity, build_profiles, identity_stats

    with open_backend(settings) as backend:
        build_identity(backend, settings.identity, full_refresh=full_refresh)
        profiles = build_profiles(backend, settings.crm)
        stats = dict(identity_stats(backend).rows())
    get_run_logger().info("identity: %s; %s", profiles.describe(), stats)
    return {
        "stats": stats,
        "profiles": profiles.profiles,
        "crm_matched": profiles.matched,
        "crm_unmatched": profiles.unmatched,
        "crm_unmatched_sample": profiles.unmatched_sample,
    }


@task(cache_policy=NO_CACHE)
def replay_clock(settings: Settings) -> datetime | None:
    """The data's latest event: "now" when replaying historic or synthetic data, for the
    triggers and the delivery alike (on the wall clock every occurrence would have expired)."""
    with open_backend(settings) as backend:
        latest = backend.scalar("SELECT MAX(event_ts) FROM stitched_events")
    return latest if isinstance(latest, datetime) else None


@task(**RETRYING)
def run_segments(
    settings: Settings, now: datetime | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """`now`: the clock triggers are decided on (None: the wall clock); `dry_run`: triggers are
    decided but not recorded (a decision is final)."""
    from cdp.audiences import run_audiences
    from cdp.funnels import run_funnels
    from cdp.segments.loader import load_project_specs
    from cdp.triggers import detect_triggers

    specs = load_project_specs(settings)
    with open_backend(settings) as backend:
        audiences = run_audiences(backend, specs)
        triggers = detect_triggers(backend, specs, now=now, record=not dry_run)
        funnels = run_funnels(backend, specs)
    return {
        "audiences": [str(a) for a in audiences],
        "triggers": str(triggers),
        "funnels": [f.table() for f in funnels],
    }


@task(**RETRYING)
def deliver_to_salesforce(settings: Settings, run_id: str, dry_run: bool = False,
                          now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """`now`: the clock firings are due and expire on (None: the wall clock)."""
    from cdp.delivery import build_clients, deliver, load_destinations

    destinations = load_destinations(Path(settings.specs_dir) / "destinations.yaml")
    with open_backend(settings) as backend:
        report = deliver(backend, destinations, build_clients(settings.salesforce, destinations),
                         run_id=run_id, dry_run=dry_run, now=now)  # fmt: skip
    report.raise_if_stopped()  # the run fails (not retried) when a destination was refused
    return report.to_dict()


@task(cache_policy=NO_CACHE)
def summarise(settings: Settings) -> dict[str, Any]:
    with open_backend(settings) as backend:
        return staging_summary(backend)


def _run_id() -> str:
    """This flow run's Prefect id (outside Prefect, a UTC timestamp): sync_log and dead_letters
    tell runs apart by it."""
    from prefect.runtime import flow_run

    return flow_run.id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@flow(name="cdp-pipeline")
def pipeline_flow(settings: Settings | None = None, run_id: str | None = None, full_refresh: bool = False,
                  dry_run: bool = False, replay: bool = False) -> dict[str, Any]:  # fmt: skip
    settings = settings or load_settings()
    run_id = run_id or _run_id()
    stage_events(settings, full_refresh=full_refresh)
    crm_rows = pull_crm(settings)
    identity = stitch_identities(settings, full_refresh)
    now = replay_clock(settings) if replay else None
    segments = run_segments(settings, now, dry_run)
    delivery = deliver_to_salesforce(settings, run_id, dry_run, now)
    return {"staging": summarise(settings), "crm_rows": crm_rows, "identity": identity,
            "segments": segments, "delivery": delivery, "clock": now}  # fmt: skip


def scheduled_deployment(cron: str) -> RunnerDeployment:
    """The pipeline on a schedule, one run at a time: a run still delivering when the next one
    is due makes the newcomer cancel, so two runs never diff and send the same rows."""
    deployment = pipeline_flow.to_deployment(
        name="cdp-pipeline",
        cron=cron,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
    )
    assert isinstance(deployment, RunnerDeployment)  # called synchronously: not a coroutine
    return deployment


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--cron", default="*/15 * * * *")
    args = parser.parse_args()
    if args.serve:
        serve(scheduled_deployment(args.cron))
    else:
        pipeline_flow()
