"""Fixture-scored: trigger firings equal the generator's ground-truth abandonments.

Synthetic export -> staging -> identity -> detect_triggers. Expected: every test-drive click the
generator says was abandoned (no submission by that person within 30 minutes), made with
analytics consent, attributed by identity to that person, and decidable at the watermark.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.config import IdentitySettings, ParamColumn, StagingSettings
from cdp.ga4.staging import stage
from cdp.specs import validate
from cdp.triggers import TriggerSettings, TriggerSpec, detect_triggers

generator = pytest.importorskip("fixtures.ga4_generator")
identity = pytest.importorskip("cdp.identity.build")

WAIT_US = 30 * 60 * 1_000_000


@pytest.mark.parametrize("seed", [11, 23])
def test_firings_equal_truth_abandonments(duck: DuckDBBackend, seed: int) -> None:
    export = generator.generate(generator.GeneratorConfig(users=400, days=3, seed=seed))
    generator.write_export(export, duck)
    stage(
        duck, StagingSettings(extra_params=[ParamColumn(key="tab_name"), ParamColumn(key="model")])
    )
    identity.build_identity(duck, IdentitySettings())
    if not duck.table_exists("profiles"):  # the CRM join may not have run: anyone identified
        duck.execute(
            "CREATE TABLE profiles AS SELECT DISTINCT stitched_uid AS uid, CONCAT('003', stitched_uid) AS crm_record_id,"
            " FALSE AS opted_out, TRUE AS crm_matched FROM stitched_events WHERE stitched_uid IS NOT NULL"
        )
    spec = validate(TriggerSpec, {"name": "td", "start": {"event": "test_drive_click"},
                                  "completion": [{"event": "test_drive_submit"}], "wait": "30m"})  # fmt: skip
    settings = TriggerSettings.model_validate(
        {"daily_cap": None, "lookback": "30d", "safety_lag": "1m"}
    )
    report = detect_triggers(duck, [spec], now=datetime(2024, 6, 1, tzinfo=UTC), settings=settings)
    assert report.watermark is not None
    watermark_us = int(report.watermark.timestamp()) * 1_000_000
    fired = {(d.candidate.uid, d.candidate.start_us) for d in report.firings}

    attributed = {
        (r["stitched_uid"], r["event_timestamp"])
        for r in duck.query(
            "SELECT stitched_uid, event_timestamp FROM stitched_events "
            "WHERE event_name = 'test_drive_click' AND stitched_uid IS NOT NULL"
        ).to_pylist()
    }
    truth = duck.query("SELECT * FROM truth_abandonments").to_pylist()
    decidable = [
        t for t in truth if t["click_timestamp"] + WAIT_US <= watermark_us and t["cid"] is not None
    ]
    abandoned = {(t["person_uid"], t["click_timestamp"]) for t in decidable if t["abandoned"]}
    completed = {(t["person_uid"], t["click_timestamp"]) for t in decidable if not t["abandoned"]}
    assert abandoned & attributed, "the fixture should contain abandonments"
    assert fired & completed == set()  # never a false "abandoned"
    assert fired == abandoned & attributed
