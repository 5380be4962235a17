"""The Prefect flows end to end (temporary Prefect API), and the CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp.cli import app


@pytest.mark.usefixtures("prefect_harness")
def test_demo_flow_runs_the_whole_pipeline_into_the_emulator(tmp_path: Path) -> None:
    from flows.demo import demo_flow

    summary = demo_flow(db_path=str(tmp_path / "demo.duckdb"), users=300, days=4, seed=7)
    staged = summary["staging"]
    assert staged["events"] > 0 and staged["days"] >= 3 and 0 < staged["share_with_uid"] < 1
    assert summary["crm_rows"] > 0
    assert summary["identity"]["crm_matched"] > 0
    by_name = {d["destination"]: d for d in summary["delivery"]["destinations"]}
    de = by_name["ev9_interest_de"]
    assert de["failed"] == 0
    # What the delivery report says was sent is what the emulator holds.
    assert summary["salesforce"]["data_extension_rows"]["cdp_audience_members"] == de["sent"]
    assert summary["salesforce"]["campaign_members"] == by_name["ev9_interest_campaign"]["sent"]
    # The replay runs on the data's clock: firings are decided, then delivered when due (the
    # run after the quiet hours), and enter the journey.
    later = {d["destination"]: d for d in summary["delivery_when_due"]["destinations"]}
    journey = [by_name["test_drive_abandon_journey"], later["test_drive_abandon_journey"]]
    assert all(j["failed"] == 0 for j in journey) and sum(j["sent"] for j in journey) > 0
    assert summary["salesforce"]["journey_entries"] == sum(j["sent"] for j in journey)
    # Each entry event's data went to the journey's entry data extension first.
    assert summary["salesforce"]["data_extension_rows"]["cdp_trigger_firings"] == sum(
        j["sent"] for j in journey
    )


@pytest.mark.usefixtures("prefect_harness")
def test_each_pipeline_run_records_its_own_run_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdp.config import open_backend
    from cdp.demo import demo_settings, generate_export, logged_in_uids
    from cdp.sandbox.salesforce import EmulatorState, run_emulator, seed_demo_org
    from cdp.sandbox.salesforce.server import SANDBOX_ENV
    from flows.pipeline import pipeline_flow

    settings = demo_settings(str(tmp_path / "runs.duckdb"))
    with open_backend(settings) as backend:
        generate_export(backend, 150, 3, 7)
        state = EmulatorState()
        seed_demo_org(state, logged_in_uids(backend), 7)
    for name, value in SANDBOX_ENV.items():
        monkeypatch.setenv(name, value)
    with run_emulator(state, cert_dir=tmp_path / "certs") as emulator:
        emulator.faults.fail_rows("cdp_audience_members", lambda row: True)  # logged every run
        sf = settings.salesforce.model_copy(
            update={"base_url": emulator.base_url, "ca_bundle": str(emulator.ca_bundle)}
        )
        live = settings.model_copy(update={"salesforce": sf})
        runs = [pipeline_flow(live, replay=True, return_state=True) for _ in range(2)]
    flow_run_ids = [str(run.state_details.flow_run_id) for run in runs]
    assert [run.result()["delivery"]["run_id"] for run in runs] == flow_run_ids
    with open_backend(settings) as backend:
        logged = backend.query("SELECT DISTINCT run_id FROM sync_log ORDER BY run_id")
    assert sorted(logged.column(0).to_pylist()) == sorted(flow_run_ids)
    assert len(set(flow_run_ids)) == 2


def test_cli_bad_input_is_one_clean_line(tmp_path: Path) -> None:
    runner = CliRunner()
    config = tmp_path / "cdp.yaml"
    config.write_text(
        f"duckdb: {{path: {tmp_path / 'x.duckdb'}}}\nstaging: {{lookback_days: -1}}\n"
    )
    result = runner.invoke(app, ["stage", "--config", str(config)])
    assert result.exit_code == 1
    assert "cdp.yaml: staging.lookback_days" in result.output and "Traceback" not in result.output
    config.write_text(f"duckdb: {{path: {tmp_path / 'x.duckdb'}}}\n")
    result = runner.invoke(app, ["stage", "--config", str(config)])
    assert result.exit_code == 1 and "no GA4 export tables" in result.output
    result = runner.invoke(app, ["stage", "--config", str(config), "--start", "2024-13-01"])
    assert result.exit_code == 1 and "--start" in result.output
    config.write_text(f"duckdb: {{path: {tmp_path / 'x.duckdb'}}}\ntime_zone: Asia/Seul\n")
    result = runner.invoke(app, ["stage", "--config", str(config)])
    assert result.exit_code == 1 and "cdp.yaml: time_zone" in result.output
    assert "unknown time zone 'Asia/Seul'" in result.output


def test_scheduled_deployment_runs_one_pipeline_at_a_time() -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from flows.pipeline import scheduled_deployment

    deployment = scheduled_deployment("*/15 * * * *")
    assert deployment.name == "cdp-pipeline"
    [schedule] = deployment.schedules or []
    assert schedule.schedule.cron == "*/15 * * * *"  # type: ignore[union-attr]
    assert deployment.concurrency_limit == 1
    options = deployment.concurrency_options
    assert options is not None
    assert options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW


def test_a_secret_comes_from_a_prefect_secret_block_when_the_env_lacks_it(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README promised Secret blocks; only environment variables were read."""
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    from cdp.errors import ConfigError
    from cdp.salesforce.secrets import redact, secret_from_env

    monkeypatch.delenv("CDP_TEST_BLOCK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="cdp-test-block-secret"):
        secret_from_env("CDP_TEST_BLOCK_SECRET")
    Secret(value=SecretStr("from-the-block-123")).save("cdp-test-block-secret", overwrite=True)
    assert secret_from_env("CDP_TEST_BLOCK_SECRET") == "from-the-block-123"
    assert redact("token from-the-block-123") == "token ***"
    monkeypatch.setenv("CDP_TEST_BLOCK_SECRET", "from-the-env-456")
    assert secret_from_env("CDP_TEST_BLOCK_SECRET") == "from-the-env-456"  # the env wins
