"""Staging flow: GA4 export shards -> `stg_events` (incremental)."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from cdp.config import Settings, load_settings, open_backend
from cdp.ga4.staging import StageReport, stage
from flows.tasks import retry_only_transient


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=10), retry_condition_fn=retry_only_transient,
      cache_policy=NO_CACHE)  # fmt: skip
def stage_events(settings: Settings, start: date | None = None, end: date | None = None,
                 full_refresh: bool = False) -> StageReport:  # fmt: skip
    with open_backend(settings) as backend:
        report = stage(backend, settings.staging, start=start, end=end, full_refresh=full_refresh)
    get_run_logger().info(
        "staged %d events from %d daily + %d intraday shards (%d duplicates removed)",
        report.rows_staged, len(report.plan.daily), len(report.plan.intraday), report.duplicates_removed,
    )  # fmt: skip
    return report


@flow(name="cdp-staging")
def staging_flow(settings: Settings | None = None, full_refresh: bool = False) -> StageReport:
    return stage_events(settings or load_settings(), full_refresh=full_refresh)


if __name__ == "__main__":
    staging_flow(load_settings())
