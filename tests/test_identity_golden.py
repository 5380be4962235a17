"""Golden snapshots of every identity statement, in both dialects (`tests/golden/identity_*`)."""

from __future__ import annotations

import pytest

from cdp.backends.base import Backend
from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend
from cdp.config import CrmSettings, IdentitySettings
from cdp.identity import metrics, plan
from cdp.identity.crm import crm_table_ctas
from cdp.identity.profiles import profiles_sql
from tests.golden import assert_golden

SETTINGS = IdentitySettings(
    junk_uids=["null", "secret-sentinel"], junk_patterns=[r"^zz-canary-\d+$"]
)


def statements() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [(s.name, s.sql) for s in plan.full_plan(SETTINGS)]
    out += [(s.name, s.sql) for s in plan.incremental_prepare(SETTINGS)]
    out += [(s.name, s.sql) for s in plan.incremental_swap(SETTINGS)]
    out += [(s.name, s.sql) for s in plan.state_plan()]
    out += [("identity_profiles", profiles_sql(["segment", "region"], present={"segment"}))]
    out += [("identity_daily", metrics.daily_sql(with_profiles=True)),
            ("identity_daily_without_profiles", metrics.daily_sql(with_profiles=False)),
            ("identity_overall", metrics.OVERALL_SQL)]  # fmt: skip
    crm = CrmSettings(source="table", table="crm_src.contacts", record_id="Id", uid="Member_Id__c",
                      record_type="Type", attributes=["segment"])  # fmt: skip
    out += [("identity_crm_from_table", crm_table_ctas(crm, "crm_src.contacts"))]
    return out


@pytest.mark.parametrize(("name", "sql"), statements(), ids=[n for n, _ in statements()])
def test_golden(name: str, sql: object, duck: DuckDBBackend, bq_renderer: BigQueryBackend) -> None:
    backend: Backend
    for backend in (duck, bq_renderer):
        rendered = backend.render(sql)  # type: ignore[arg-type]
        assert_golden(name, backend.dialect, rendered)
        # Configured junk values and patterns are parameters, never SQL text.
        assert "secret-sentinel" not in rendered and "canary" not in rendered


def test_junk_lists_are_parameters() -> None:
    from cdp.identity.rules import params

    values = params(SETTINGS)
    assert values["junk_uids"] == ["null", "secret-sentinel"]
    assert values["junk_pattern"] == r"(?:^zz-canary-\d+$)"


def test_every_identity_golden_file_has_a_statement() -> None:
    """A statement removed or renumbered must not leave its old snapshot behind."""
    from pathlib import Path

    names = {name for name, _ in statements()}
    golden = Path(__file__).parent / "golden"
    stale = sorted(
        p.name for p in golden.glob("identity_*.sql") if p.name.split(".")[0] not in names
    )
    assert stale == []
