"""`cdp`: the command line. Every command catches `CdpError` once and prints one clean line."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from cdp.errors import CdpError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
identity_app = typer.Typer(no_args_is_help=True, help="Identity stitching (CID -> UID).")
audiences_app = typer.Typer(no_args_is_help=True, help="Audiences compiled from YAML specs.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Local emulators for offline development.")
app.add_typer(identity_app, name="identity")
app.add_typer(audiences_app, name="audiences")
app.add_typer(sandbox_app, name="sandbox")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="cdp.yaml (default: ./cdp.yaml)")
]


def clean_errors(fn: F) -> F:
    """Our errors become one red line and exit code 1; tracebacks are for bugs only."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CdpError as err:
            err_console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def prefect_env() -> None:
    """Settings for Prefect's temporary local server (started by the first flow run)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # A failed run is reported once, as the `error:` line; its records still reach Prefect's
    # own handlers (and the API), but not the CLI's root handler, which printed tracebacks.
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).propagate = False


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"[bold]{title}[/bold]: (none)")
        return
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(_fmt(v) for v in row.values()))
    console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
@clean_errors
def load(
    paths: Annotated[
        list[Path], typer.Argument(help="extract files or folders (events_YYYYMMDD.json, ...)")
    ],
    config: ConfigOption = None,
    skip_bad: Annotated[
        bool, typer.Option(help="log and skip malformed tables instead of stopping")
    ] = False,
) -> None:
    """Load GA4 export extracts (NDJSON or Parquet, as BigQuery extracts them) into DuckDB."""
    from cdp.backends.duckdb import DuckDBBackend
    from cdp.config import load_settings, open_backend
    from cdp.ga4.load import load_extracts

    settings = load_settings(config)
    with open_backend(settings) as backend:
        if not isinstance(backend, DuckDBBackend):
            raise CdpError("`cdp load` loads extracts into the DuckDB backend; set backend: duckdb")
        report = load_extracts(paths, backend, on_error="skip" if skip_bad else "raise")
    for line in report.lines():
        console.print(line, highlight=False)


@app.command()
@clean_errors
def stage(
    config: ConfigOption = None,
    full_refresh: Annotated[bool, typer.Option(help="rebuild stg_events from every shard")] = False,
    start: Annotated[str | None, typer.Option(help="first shard date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="last shard date, YYYY-MM-DD")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="print the plan (and bytes on BigQuery), stage nothing")
    ] = False,
) -> None:
    """Stage the GA4 export into stg_events (incremental: watermark minus lookback)."""
    from cdp.config import load_settings, open_backend
    from cdp.ga4 import staging

    settings = load_settings(config)
    first, last = _date(start, "start"), _date(end, "end")
    staging.check_range(first, last, full_refresh=full_refresh)
    with open_backend(settings) as backend:
        if dry_run:
            daily, intraday = staging.list_shards(backend)
            seen = set() if full_refresh else staging.staged_shards(backend)
            plan = staging.plan_shards(list(daily), list(intraday), seen,
                                       lookback_days=settings.staging.lookback_days, start=first, end=last,
                                       first_date=settings.staging.first_date)  # fmt: skip
            console.print(f"would read daily {list(plan.daily)} and intraday {list(plan.intraday)}")
            if not plan.empty and backend.reports_bytes_scanned:
                scanned = backend.dry_run_bytes(
                    staging.stage_select(backend, plan, settings.staging)
                )
                console.print(f"bytes processed: {scanned:,}")
            return
        report = staging.stage(
            backend, settings.staging, start=first, end=last, full_refresh=full_refresh
        )
    console.print(
        f"staged {report.rows_staged:,} events from {len(report.plan.daily)} daily and "
        f"{len(report.plan.intraday)} intraday shards ({report.duplicates_removed:,} duplicates removed)"
    )


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CdpError(f"--{name}: expected a date like 2024-05-01, got {value!r}") from None


@app.command()
@clean_errors
def demo(
    db: Annotated[str, typer.Option(help="DuckDB file for the demo")] = ".cdp/demo.duckdb",
    users: Annotated[int, typer.Option(min=1)] = 2000,
    days: Annotated[int, typer.Option(min=1)] = 7,
    seed: int = 7,
) -> None:
    """Synthetic GA4 export -> staging -> identity -> audiences/triggers/funnels -> Salesforce emulator."""
    prefect_env()
    from flows.demo import demo_flow

    Path(db).unlink(missing_ok=True)
    summary = demo_flow(db_path=db, users=users, days=days, seed=seed)
    staged = summary["staging"]
    console.print(f"[bold]generated[/bold] {summary['generated_events']:,} export rows")
    print_table("stg_events", [staged])
    print_table(
        "identity", [{"metric": k, "value": v} for k, v in summary["identity"]["stats"].items()]
    )
    for line in summary["segments"]["audiences"]:  # one line per audience
        console.print(line, highlight=False)
    console.print(summary["segments"]["triggers"], highlight=False)
    for table in summary["segments"]["funnels"]:
        console.print(table, highlight=False)
    columns = ("adds", "updates", "removes", "sent", "removed", "failed")
    print_table("delivered to Salesforce", _delivery_rows(summary["delivery"], columns))
    later = summary.get("delivery_when_due")
    if later:
        print_table(
            f"delivered when the quiet hours end ({later['at']})", _delivery_rows(later, columns)
        )
    print_table("emulator now holds", [summary["salesforce"]])


@identity_app.command("build")
@clean_errors
def identity_build(
    config: ConfigOption = None,
    full_refresh: Annotated[bool, typer.Option(help="rebuild every table from stg_events")] = False,
) -> None:
    """Stitch CIDs to UIDs (incremental from newly staged shards) and rebuild profiles.

    A CRM file or table named in config is (re)loaded first; a Salesforce CRM is landed by
    `cdp run`'s CRM pull."""
    from cdp.config import load_settings, open_backend
    from cdp.identity import build_identity, build_profiles, load_crm

    settings = load_settings(config)
    with open_backend(settings) as backend:
        report = build_identity(backend, settings.identity, full_refresh=full_refresh)
        if settings.crm.source != "salesforce":
            load_crm(backend, settings.crm)
        profiles = build_profiles(backend, settings.crm)
    console.print(
        f"identity: {report.mode} ({report.reason}); {profiles.describe()}", highlight=False
    )


@identity_app.command("stats")
@clean_errors
def identity_stats_command(config: ConfigOption = None) -> None:
    """Identification rate, shared devices, junk ids, suspicious UIDs, CRM match rate."""
    from cdp.config import load_settings, open_backend
    from cdp.identity import identity_stats

    settings = load_settings(config)
    with open_backend(settings) as backend:
        stats = identity_stats(backend)
    print_table("identity", [{"metric": k, "value": v} for k, v in stats.rows()])
    print_table("per day", stats.daily_rows())
    console.print(stats.DAILY_LEGEND, highlight=False)


@audiences_app.command("preview")
@clean_errors
def audiences_preview(name: str, config: ConfigOption = None) -> None:
    """Size, change since the last run, sample members with reasons (and bytes on BigQuery)."""
    from cdp.audiences import preview_audience
    from cdp.config import load_settings, open_backend
    from cdp.segments.loader import load_project_specs

    settings = load_settings(config)
    specs = load_project_specs(settings)
    with open_backend(settings) as backend:
        console.print(str(preview_audience(backend, specs.audience(name))), highlight=False)


@app.command()
@clean_errors
def triggers(config: ConfigOption = None) -> None:
    """Detect trigger firings (decided only once the data is complete through start + wait)."""
    from cdp.config import load_settings, open_backend
    from cdp.segments.loader import load_project_specs
    from cdp.triggers import detect_triggers

    settings = load_settings(config)
    with open_backend(settings) as backend:
        console.print(str(detect_triggers(backend, load_project_specs(settings))), highlight=False)


@app.command()
@clean_errors
def funnels(config: ConfigOption = None) -> None:
    """Per-step reached / converted / dropped / median time, per day and device."""
    from cdp.config import load_settings, open_backend
    from cdp.funnels import run_funnels
    from cdp.segments.loader import load_project_specs

    settings = load_settings(config)
    with open_backend(settings) as backend:
        for report in run_funnels(backend, load_project_specs(settings)):
            console.print(report.table(), highlight=False)


@app.command("run")
@clean_errors
def run_pipeline(
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option(help="compute the delivery diff, send nothing")] = False,
) -> None:
    """The production pipeline as a Prefect flow: stage, CRM, identity, segments, delivery."""
    prefect_env()
    from cdp.config import load_settings
    from flows.pipeline import pipeline_flow

    summary = pipeline_flow(load_settings(config), dry_run=dry_run)
    print_table("stg_events", [summary["staging"]])
    print_table(
        "delivery",
        _delivery_rows(summary["delivery"], ("adds", "updates", "removes", "sent", "failed")),
    )


def _delivery_rows(report: dict[str, Any], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per destination of a delivery report: its name and `columns`."""
    return [
        {"destination": d["destination"], **{k: d.get(k) for k in columns}}
        for d in report.get("destinations", [])
    ]


@sandbox_app.command("salesforce")
@clean_errors
def sandbox_salesforce(
    port: Annotated[int, typer.Option(help="HTTPS port on 127.0.0.1")] = 8443,
    seed: int = 0,
) -> None:
    """Run the local Salesforce emulator (Sales Cloud + Marketing Cloud) over HTTPS."""
    from cdp.sandbox.salesforce.server import serve_forever

    serve_forever("127.0.0.1", port, seed=seed)


def run() -> None:  # pragma: no cover - console entry for `python -m cdp.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
