"""The CLI's commands on a small synthetic project: each runs, prints its figures, exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cdp.backends.duckdb import DuckDBBackend
from cdp.cli import app
from cdp.demo import SPECS_DIR, generate_export
from fixtures.crm import crm_customers, save_crm
from fixtures.ga4_generator import GeneratorConfig

CONFIG = GeneratorConfig(seed=11, users=250, days=4)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding a synthetic export, a CRM file, and a cdp.yaml pointing at both."""
    root = tmp_path_factory.mktemp("project")
    with DuckDBBackend(root / "cdp.duckdb") as backend:
        generate_export(backend, CONFIG.users, CONFIG.days, CONFIG.seed)
        people = backend.query("SELECT * FROM truth_people")
    crm = save_crm(crm_customers(CONFIG, people), root / "crm.csv")
    (root / "cdp.yaml").write_text(
        f"duckdb: {{path: {root / 'cdp.duckdb'}}}\n"
        "staging: {extra_params: [{key: tab_name}, {key: model}]}\n"
        f"crm: {{source: file, file: {crm}}}\n"
        f"specs_dir: {SPECS_DIR}\n",
        encoding="utf-8",
    )
    return root / "cdp.yaml"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def test_commands_run_in_pipeline_order(project: Path) -> None:
    config = ["--config", str(project)]
    out = invoke("stage", *config, "--dry-run")
    assert "would read daily ['20240501', '20240502', '20240503'] and intraday ['20240504']" in out
    out = invoke("stage", *config)
    assert out.startswith("staged ") and "duplicates removed" in out
    out = invoke("identity", "build", *config)
    assert out.startswith("identity: full")
    matched = int(out.split(" profiles, ")[1].split(" matched")[0].replace(",", ""))
    assert matched > 0  # the CRM file named in config was loaded before the profiles
    assert " unmatched (" in out  # reported with a sample, not dropped silently
    out = invoke("identity", "stats", *config)
    assert "events identified" in out and "CRM match" in out and "CRM unmatched UIDs" in out
    assert "per day" in out and "sess %" in out and "CRM %" in out and "junk-UID events" in out
    out = invoke("audiences", "preview", "ev9_interest", *config)
    assert out.startswith("audience ev9_interest as of") and "ev9_page_views_14d=" in out
    out = invoke("triggers", *config)
    assert out.startswith("triggers decided through") and "test_drive_abandon:" in out
    out = invoke("funnels", *config)
    assert "funnel cej_test_drive" in out and "5. submit" in out and "mobile" in out
    # Nothing new was staged: the second identity build has nothing to recompute.
    assert invoke("identity", "build", *config).startswith("identity: noop")


@pytest.mark.usefixtures("prefect_harness")
def test_run_dry_run_plans_delivery_without_sending(project: Path) -> None:
    def decisions() -> int:
        with DuckDBBackend(project.parent / "cdp.duckdb") as backend:
            if not backend.table_exists("trigger_decisions"):
                return 0
            return int(backend.scalar("SELECT COUNT(*) FROM trigger_decisions") or 0)

    before = decisions()
    out = invoke("run", "--config", str(project), "--dry-run")
    assert "stg_events" in out and "delivery" in out
    assert "ev9_interest_de" in out
    assert decisions() == before  # a recorded decision is final: a dry run records none


def test_a_failed_run_is_one_error_line(tmp_path: Path) -> None:
    """A task failing inside the flow used to print Prefect's traceback before the error."""
    import os
    import subprocess
    import sys

    (tmp_path / "cdp.yaml").write_text(
        f"duckdb: {{path: {tmp_path / 'empty.duckdb'}}}\nspecs_dir: {SPECS_DIR}\n"
        "staging: {extra_params: [{key: tab_name}, {key: model}]}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    done = subprocess.run(
        [sys.executable, "-m", "cdp.cli", "run", "--config", str(tmp_path / "cdp.yaml")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "error: no GA4 export tables" in done.stderr + done.stdout


def test_the_demo_config_matches_the_demo() -> None:
    """fixtures/demo.cdp.yaml lets the other commands read what `cdp demo` wrote."""
    from cdp.config import load_settings
    from cdp.demo import demo_settings

    root = Path(__file__).resolve().parents[1]
    shipped = load_settings(root / "fixtures" / "demo.cdp.yaml")
    demo = demo_settings(str(root / ".cdp" / "demo.duckdb"))
    assert Path(shipped.duckdb.path).resolve() == Path(demo.duckdb.path).resolve()
    assert Path(shipped.specs_dir).resolve() == Path(demo.specs_dir).resolve()
    assert shipped.staging == demo.staging and shipped.crm == demo.crm
