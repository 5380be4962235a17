"""The offline demo: a synthetic GA4 export plus a local Salesforce org that knows its users."""

from __future__ import annotations

from pathlib import Path

from cdp.backends.base import Backend
from cdp.config import CrmSettings, ParamColumn, Settings, StagingSettings

SPECS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "specs"


def demo_settings(db_path: str) -> Settings:
    """Embedded defaults, plus the demo site's extra params and the shipped example specs."""
    return Settings(
        duckdb={"path": db_path},  # type: ignore[arg-type]
        staging=StagingSettings(
            extra_params=[ParamColumn(key="tab_name"), ParamColumn(key="model")]
        ),
        crm=CrmSettings(source="salesforce"),
        specs_dir=str(SPECS_DIR),
    )


def generate_export(backend: Backend, users: int, days: int, seed: int) -> int:
    """Write a synthetic export (and its ground truth) into the backend; returns events."""
    from fixtures.ga4_generator import GeneratorConfig, generate, write_export

    export = generate(GeneratorConfig(seed=seed, users=users, days=days))
    write_export(export, backend)
    return sum(t.num_rows for t in export.tables.values())


def logged_in_uids(backend: Backend) -> list[str]:
    """The generator's people who ever logged in: the demo org's Contacts and Leads."""
    table = backend.query(
        "SELECT person_uid FROM truth_people WHERE ever_logged_in ORDER BY person_uid"
    )
    return [str(v) for v in table.column(0).to_pylist()]
