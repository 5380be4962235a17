from __future__ import annotations

import pytest

from cdp.errors import TerminalError, TransientError
from cdp.salesforce.errors import UncertainDeliveryError
from cdp.salesforce.marketing_cloud import MarketingCloudClient
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import Emulator

DE = "cdp_trigger_firings"


def _firing(i: int) -> dict[str, object]:
    return {
        "firing_id": f"f-{i}",
        "trigger_key": "test_drive_abandon",
        "contact_key": f"c{i}",
        "fired_at": "2026-11-28T10:00:00",
    }


def test_429_retry_after_is_honoured(
    mc: MarketingCloudClient, emulator: Emulator, sleeps: list[float]
) -> None:
    emulator.faults.throttle(r"PUT /mc-rest/data/v1/async/", retry_after=0.3, times=1)
    request_id = mc.upsert_rows_async(DE, [_firing(1)])
    assert request_id
    assert sleeps and sleeps[0] >= 0.3  # not the 0.01 s back-off
    assert [r.status for r in emulator.state.requests("PUT /mc-rest/data/v1/async/")][-2:] == [
        429,
        202,
    ]


def test_503_is_retried_with_backoff(
    sales: SalesCloudClient, emulator: Emulator, sleeps: list[float]
) -> None:
    emulator.faults.error(r"GET .*/query", status=503, times=2)
    pages = list(sales.query_pages("SELECT Id FROM Lead ORDER BY SystemModstamp, Id"))
    assert pages and len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2


def test_503_persisting_gives_transient_error(sales: SalesCloudClient, emulator: Emulator) -> None:
    emulator.faults.error(r"/describe", status=503, times=None)
    with pytest.raises(TransientError, match="503"):
        sales.describe("Contact")
    assert len(emulator.state.requests("/sobjects/Contact/describe")) >= 4


def test_dropped_connection_is_retried_for_idempotent_calls(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    emulator.faults.drop(r"POST /mc-rest/hub/v1/dataevents/", times=1)
    assert mc.upsert_rowset(DE, [_firing(2)], primary_keys=["firing_id"]) == 1
    assert [r.fault for r in emulator.state.requests("/rowset")][-2:] == ["drop", None]


def test_dropped_connection_is_not_retried_for_journey_events(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    mc.fire_event("APIEvent-test-drive-abandon", "c-warmup", {"uid": "u"})  # token in hand
    before = len(emulator.state.requests("POST /mc-rest/interaction/v1/events"))
    emulator.faults.drop(r"POST /mc-rest/interaction/v1/events", times=1)
    with pytest.raises(UncertainDeliveryError):
        mc.fire_event("APIEvent-test-drive-abandon", "c-drop", {"uid": "u"})
    assert len(emulator.state.requests("POST /mc-rest/interaction/v1/events")) == before + 1


def test_dropped_connection_during_bulk_upload_is_retried(
    sales: SalesCloudClient, emulator: Emulator
) -> None:
    emulator.faults.drop(r"PUT .*/jobs/ingest/.*/batches", times=1)
    result = sales.upsert_bulk(
        "Lead", "Web_User_Id__c", [{"Web_User_Id__c": "drop-lead", "LastName": "D", "Company": "C"}]
    )
    assert len(result.successful) == 1
    assert any(
        j.state == "Aborted" for j in emulator.state.bulk_jobs.values()
    )  # the broken job was aborted


def test_slow_response_times_out_and_is_retried(
    sf_settings: SalesforceSettings, emulator: Emulator, policy: object
) -> None:
    settings = sf_settings.model_copy(update={"read_timeout": 0.3})
    client = SalesCloudClient(settings, policy=policy)  # type: ignore[arg-type]
    client.describe("Contact")  # log in first
    emulator.faults.delay(r"/sobjects/Lead/describe", seconds=0.6, times=1)
    assert client.describe("Lead")["name"] == "Lead"


def test_token_expiry_mid_run_for_marketing_cloud(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    mc.upsert_rowset(DE, [_firing(3)], primary_keys=["firing_id"])
    emulator.faults.expire_tokens(r"POST /mc-rest/hub/", times=1)
    mc.upsert_rowset(DE, [_firing(4)], primary_keys=["firing_id"])
    assert [r.status for r in emulator.state.requests("POST /mc-rest/hub/")][-2:] == [401, 200]


def test_validation_error_is_terminal_and_not_retried(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    before = len(emulator.state.requests("POST /mc-rest/hub/"))
    with pytest.raises(TerminalError):
        mc.upsert_rowset(
            DE,
            [
                {
                    "firing_id": "f-x",
                    "fired_at": "not a date",
                    "trigger_key": "t",
                    "contact_key": "c",
                }
            ],
            primary_keys=["firing_id"],
        )
    assert len(emulator.state.requests("POST /mc-rest/hub/")) == before + 1


def test_probabilistic_faults_are_reproducible(emulator: Emulator) -> None:
    from cdp.sandbox.salesforce.faults import Fault, FaultPlan

    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed)
        plan.add(Fault("GET /x", "status", times=None, probability=0.5))
        return [bool(plan.pick("GET", "/x")) for _ in range(20)]

    assert pattern(3) == pattern(3) and pattern(3) != pattern(4)
    assert 3 < sum(pattern(3)) < 17
