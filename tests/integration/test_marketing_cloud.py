from __future__ import annotations

import time

import pytest

from cdp.errors import TerminalError
from cdp.salesforce.marketing_cloud import EventMember, MarketingCloudClient
from cdp.sandbox.salesforce import Emulator

DE = "cdp_audience_members"


def _rows(tag: str, n: int) -> list[dict[str, object]]:
    return [
        {
            "audience_key": tag,
            "contact_key": f"c{i}",
            "uid": f"u{i}",
            "email": f"p{i}@example.com",
            "is_member": True,
        }
        for i in range(n)
    ]


def test_async_upsert_poll_and_per_row_results(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    rows = _rows("async-a", 6)
    rows[2]["email"] = "broken"  # type validation fails for this row only
    emulator.faults.fail_rows(
        DE, lambda r: r["contact_key"] == "c4", "UnexpectedError", "row rejected"
    )

    request_id = mc.upsert_rows_async(DE, rows)
    results = mc.wait_for_request(request_id)

    assert [r.ok for r in results] == [True, True, False, True, False, True]
    assert "valid email" in (results[2].message or "")
    assert results[4].error_code == "UnexpectedError"
    stored = [r for r in emulator.state.de_rows(DE) if r["audience_key"] == "async-a"]
    assert {r["contact_key"] for r in stored} == {"c0", "c1", "c3", "c5"}
    statuses = [r.status for r in emulator.state.requests(f"/data/v1/async/{request_id}/status")]
    assert len(statuses) >= 2  # it was Pending first, so the client polled


def test_an_error_free_async_job_needs_no_results(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    """The documented results list only the error items: an error-free job's rows all succeeded."""
    from cdp.delivery.send_de import upsert_async
    from cdp.delivery.state import Outcome

    emulator.state.config.async_results_errors_only = True
    try:
        request_id = mc.upsert_rows_async(DE, _rows("errors-only", 3))
        assert mc.wait_for_request(request_id) == []  # what a positional reading would see
        assert [r.ok for r in mc.wait_for_request(request_id, rows=3)] == [True] * 3
        assert [
            o.status for o in upsert_async(mc, DE, _rows("errors-only", 2), Outcome("sent"))
        ] == [
            "sent",
            "sent",
        ]
    finally:
        emulator.state.config.async_results_errors_only = False


def test_error_only_results_are_traced_to_their_rows(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    """Results without a row key: the rows are upserted again in halves to find the bad ones."""
    from cdp.delivery.send_de import upsert_async
    from cdp.delivery.state import Outcome

    emulator.state.config.async_results_errors_only = True
    emulator.faults.fail_rows(DE, lambda r: r["contact_key"] in ("c2", "c5"), "Bad", "no")
    try:
        outcomes = upsert_async(mc, DE, _rows("halves", 7), Outcome("sent"))
    finally:
        emulator.state.config.async_results_errors_only = False
        emulator.faults.clear()
    assert [o.status for o in outcomes] == [
        "sent",
        "sent",
        "failed",
        "sent",
        "sent",
        "failed",
        "sent",
    ]
    assert outcomes[2].error_code == "Bad"
    stored = {r["contact_key"] for r in emulator.state.de_rows(DE) if r["audience_key"] == "halves"}
    assert stored == {"c0", "c1", "c3", "c4", "c6"}


def test_mirror_insert_with_error_only_results_is_delivered_and_owned_by_nobody(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    """Before, the whole chunk was retried each run (RESULTS_MISMATCH), a bad row blocking it."""
    from cdp.delivery.config import Batching
    from cdp.delivery.send_de import insert_owned

    rows = _rows("mirror-eo", 5)
    mc.wait_for_request(mc.insert_rows_async(DE, rows[:1]))  # c0 was in the DE before
    emulator.state.config.async_results_errors_only = True
    emulator.faults.fail_rows(DE, lambda r: r["contact_key"] == "c3", "Bad", "no")
    try:
        outcomes = insert_owned(mc, DE, rows, Batching())
    finally:
        emulator.state.config.async_results_errors_only = False
        emulator.faults.clear()
    assert [o.status for o in outcomes] == ["sent", "sent", "sent", "failed", "sent"]
    assert outcomes[3].error_code == "Bad"
    assert all(o.owned is False for o in outcomes if o.status == "sent")
    stored = {
        r["contact_key"] for r in emulator.state.de_rows(DE) if r["audience_key"] == "mirror-eo"
    }
    assert stored == {"c0", "c1", "c2", "c4"}


def test_async_insert_duplicate_key_is_a_row_error(mc: MarketingCloudClient) -> None:
    rows = _rows("async-ins", 2)
    mc.wait_for_request(mc.insert_rows_async(DE, rows))
    again = mc.wait_for_request(mc.insert_rows_async(DE, rows[:1]))
    assert not again[0].ok and "PRIMARY KEY" in (again[0].message or "")


def test_async_batch_over_limit_and_unknown_de(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="32000"):
        mc.upsert_rows_async(DE, _rows("big", 32_001))
    with pytest.raises(TerminalError, match="not found"):
        mc.upsert_rows_async("no_such_de", _rows("x", 1))


def test_sync_rowset_upsert_and_delete(mc: MarketingCloudClient, emulator: Emulator) -> None:
    rows = _rows("rowset", 60)  # two calls: 50 + 10
    assert mc.upsert_rowset(DE, rows, primary_keys=["audience_key", "contact_key"]) == 60
    assert len(emulator.state.requests(f"POST /mc-rest/hub/v1/dataevents/key:{DE}/rowset")) >= 2
    stored = [r for r in emulator.state.de_rows(DE) if r["audience_key"] == "rowset"]
    assert len(stored) == 60
    assert (
        mc.delete_rows(
            DE,
            [
                {"audience_key": "rowset", "contact_key": "c1"},
                {"audience_key": "rowset", "contact_key": "c2"},
            ],
        )
        == 2
    )
    assert len([r for r in emulator.state.de_rows(DE) if r["audience_key"] == "rowset"]) == 58


def test_sync_rowset_validation_error_is_terminal_and_atomic(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    rows = _rows("rowset-bad", 3)
    rows[1]["favourite_colour"] = "blue"
    with pytest.raises(TerminalError, match=r"10006.*Invalid column name") as info:
        mc.upsert_rowset(DE, rows, primary_keys=["audience_key", "contact_key"])
    assert "HTTP 400" in str(info.value)
    assert not [r for r in emulator.state.de_rows(DE) if r["audience_key"] == "rowset-bad"]
    assert len(emulator.state.requests("rowset-bad")) == 0  # key is in the body, not the path
    with pytest.raises(TerminalError, match=r"\[contact_key\] is required"):
        mc.upsert_rowset(DE, [{"audience_key": "k"}], primary_keys=["audience_key", "contact_key"])


def test_journey_single_and_batch(mc: MarketingCloudClient, emulator: Emulator) -> None:
    event = "APIEvent-test-drive-abandon"
    before = len(emulator.state.entries(event))
    instance = mc.fire_event(
        event, "003-journey-1", {"uid": "u1", "email": "a@example.com", "model": "EV9"}
    )
    assert instance
    entries = emulator.state.entries(event, "003-journey-1")
    assert [e.event_instance_id for e in entries] == [instance]

    emulator.state.inactive_contacts.add("003-inactive")
    members = [EventMember(f"003-batch-{i}", {"uid": f"u{i}"}) for i in range(5)]
    members.append(EventMember("003-inactive", {"uid": "x"}))
    members.append(EventMember("003-no-uid", {"model": "EV9"}))  # uid is required by the event
    result = mc.fire_events_batch(event, members)
    assert [m.queued for m in result.members] == [True] * 5 + [False, False]
    assert len(result.not_queued) == 2
    assert len(emulator.state.entries(event)) == before + 6

    with pytest.raises(TerminalError, match="not found"):
        mc.fire_event("APIEvent-missing", "003-x", {"uid": "u"})
    with pytest.raises(ValueError):
        mc.fire_events_batch(event, [EventMember(f"c{i}") for i in range(101)])


def test_token_is_reused_then_refreshed_before_expiry(
    mc: MarketingCloudClient, emulator: Emulator
) -> None:
    emulator.state.config.mc_token_lifetime_s = 1  # renewed 0.25 s before it runs out
    before = len(emulator.state.requests("POST /mc-auth/v2/token"))
    start = len(emulator.state.requests())
    mc.upsert_rowset(DE, _rows("tok", 1), primary_keys=["audience_key", "contact_key"])
    mc.upsert_rowset(DE, _rows("tok", 1), primary_keys=["audience_key", "contact_key"])
    assert len(emulator.state.requests("POST /mc-auth/v2/token")) == before + 1
    time.sleep(0.8)
    mc.upsert_rowset(DE, _rows("tok", 1), primary_keys=["audience_key", "contact_key"])
    assert len(emulator.state.requests("POST /mc-auth/v2/token")) == before + 2
    assert all(
        r.status != 401 for r in emulator.state.requests()[start:]
    )  # renewed before, not after, a 401


def test_bad_mc_secret_is_terminal(
    mc: MarketingCloudClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDP_MC_CLIENT_SECRET", "wrong-mc-secret-value")
    with pytest.raises(TerminalError, match="invalid_client") as info:
        mc.fire_event("APIEvent-test-drive-abandon", "c", {"uid": "u"})
    assert "wrong-mc-secret-value" not in str(info.value)
