"""Delivery engine through real HTTPS against the emulator: happy paths, removal policies,
consent, fault kinds, row failures -> retry -> dead letters, uncertain journey events,
dry run, bad config, golden SQL."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.delivery import Destinations, build_clients, deliver, load_destinations, plan_delivery
from cdp.delivery.clients import Clients
from cdp.delivery.diff import plan_query
from cdp.delivery.engine import DeliveryReport
from cdp.delivery.state import release_uncertain
from cdp.errors import ConfigError, TransientError
from cdp.salesforce.http import RetryPolicy
from cdp.salesforce.marketing_cloud import MarketingCloudClient
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import Emulator
from cdp.specs import validate
from tests.golden import assert_golden
from tests.integration.test_delivery_support import (
    T0,
    Names,
    Person,
    campaign_members,
    de_rows,
    declare,
    destinations,
    journey_keys,
    load_inputs,
    people,
    table,
)

NOW = T0 + timedelta(hours=1)
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "specs" / "destinations.yaml"


@pytest.fixture
def names(emulator: Emulator) -> Names:
    return declare(emulator)


def _clients(sf_settings: SalesforceSettings, policy: RetryPolicy, dests: Destinations) -> Clients:
    return build_clients(sf_settings, dests, policy=policy)


def _run(
    duck: DuckDBBackend, dests: Destinations, clients: Clients, run_id: str, only: str | None = None
) -> DeliveryReport:
    return deliver(duck, dests, clients, run_id=run_id, now=NOW, only=[only] if only else None)


# ---- happy paths ---------------------------------------------------------------------------


def test_all_destinations_then_changes(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 12)
    uid = {p.uid: p for p in ps}
    load_inputs(
        duck, ps, [p.uid for p in ps[:8]], opted_out={ps[0].uid}, holdout={ps[1].uid},
        firings=[(p.uid, "o1") for p in ps[:4]],
        deliver_after={(ps[3].uid, "o1"): NOW + timedelta(minutes=30)},  # quiet hours
    )  # fmt: skip
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    report = _run(duck, dests, clients, "r1")
    assert report.ok and report["de"].sent == 6 and report["campaign"].sent == 6
    expected = {p.crm_id for p in ps[2:8]}
    assert set(de_rows(emulator, names.de_key)) == expected
    assert campaign_members(emulator, names.campaign_id) == expected
    # ps[0] opted out, ps[3] deferred by quiet hours (holdout applies to audiences only)
    fired = [f"abandon|{ps[1].uid}|o1", f"abandon|{ps[2].uid}|o1"]
    assert journey_keys(emulator, names.event_key) == fired
    assert sorted(r["firing_id"] for r in emulator.state.de_rows(names.entry_de_key)) == fired

    # Second run, nothing changed: nothing is sent.
    start = len(emulator.state.request_log)
    again = _run(duck, dests, clients, "r2")
    assert all(d.sent == d.removed == 0 for d in again.destinations)
    sent = [r.path for r in emulator.state.request_log[start:] if "__cdp_preflight__" not in r.path]
    assert [p for p in sent if "/mc-rest/" in p] == []  # only the preflight probes

    # Changes: two leave, one joins, one's email changes, one opts out; the deferred firing is due.
    load_inputs(
        duck, ps, [p.uid for p in ps[4:10]], opted_out={ps[0].uid, ps[5].uid},
        firings=[(p.uid, "o1") for p in ps[:4]], emails={ps[6].uid: "changed@example.com"},
    )  # fmt: skip
    later = deliver(duck, dests, clients, run_id="r3", now=NOW + timedelta(hours=1))
    expected = {uid[u].crm_id for u in [p.uid for p in ps[4:10]] if u != ps[5].uid}
    assert set(de_rows(emulator, names.de_key)) == expected
    assert de_rows(emulator, names.de_key)[ps[6].crm_id]["email"] == "changed@example.com"
    assert campaign_members(emulator, names.campaign_id) == expected
    assert later["de"].updates == 1 and later["de"].removes == 3
    assert journey_keys(emulator, names.event_key) == [*fired, f"abandon|{ps[3].uid}|o1"]
    log = table(
        duck, "SELECT run_id, status, COUNT(*) AS n FROM sync_log GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert {(r["run_id"], r["status"]) for r in log} >= {("r1", "sent"), ("r3", "removed")}


def test_flag_removal_and_reentry(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 5)
    dests = destinations(names, removal="flag")
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps])
    _run(duck, dests, clients, "f1", "de")
    load_inputs(duck, ps, [p.uid for p in ps[:3]])
    report = _run(duck, dests, clients, "f2", "de")
    rows = de_rows(emulator, names.de_key)
    assert report["de"].removed == 2 and len(rows) == 5
    assert [rows[p.crm_id]["is_member"] for p in ps] == [True, True, True, False, False]
    assert rows[ps[4].crm_id]["exited_at"] is not None
    assert _run(duck, dests, clients, "f3", "de")["de"].sent == 0  # flagged rows stay flagged
    load_inputs(duck, ps, [p.uid for p in ps])  # re-entry flips the flag back
    _run(duck, dests, clients, "f4", "de")
    rows = de_rows(emulator, names.de_key)
    assert all(rows[p.crm_id]["is_member"] for p in ps) and rows[ps[4].crm_id]["exited_at"] is None


def test_mirror_deletes_only_rows_it_created(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
    mc: MarketingCloudClient,
) -> None:
    ps = people(emulator, 4)
    foreign = {
        "audience_key": "aud",
        "contact_key": ps[0].crm_id,
        "uid": "someone-else",
        "is_member": True,
    }
    mc.upsert_rowset(names.de_key, [foreign], primary_keys=["audience_key", "contact_key"])
    dests = destinations(names, removal="mirror")
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps])
    _run(duck, dests, clients, "m1", "de")
    owned = {
        r["key"]: r["owned"]
        for r in table(duck, "SELECT key, owned FROM delivery_state WHERE destination = 'de'")
    }
    assert sorted(owned.values()) == [False, True, True, True]
    load_inputs(duck, ps, [])
    report = _run(duck, dests, clients, "m2", "de")
    assert report["de"].removed == 3 and report["de"].skipped == 1
    assert set(de_rows(emulator, names.de_key)) == {ps[0].crm_id}  # the row we found, left alone


def test_large_diffs_use_async_and_bulk(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 60)
    dests = destinations(
        names, batching={"async_max_rows": 25, "collection_max": 20, "journey_batch": 7}
    )
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps[:30]])
    log_start = len(emulator.state.request_log)
    report = _run(duck, dests, clients, "big")
    assert report.ok and report["de"].sent == 60 and report["campaign"].sent == 60
    paths = [f"{r.method} {r.path}" for r in emulator.state.request_log[log_start:]]
    assert sum("PUT /mc-rest/data/v1/async/dataextensions" in p for p in paths) == 3  # 25+25+10
    assert any("/jobs/ingest" in p for p in paths)  # Bulk 2.0 for 60 > 20 campaign members
    assert sum("/interaction/v1/async/events" in p for p in paths) == 5  # ceil(30 / 7)
    assert len(journey_keys(emulator, names.event_key)) == 30
    # and Bulk deletes for a large removal
    load_inputs(duck, ps, [])
    assert _run(duck, dests, clients, "big2", "campaign")["campaign"].removed == 60
    assert campaign_members(emulator, names.campaign_id) == set()


@pytest.mark.parametrize("bulk", [False, True], ids=["collections", "bulk"])
def test_campaign_member_updates_leave_out_create_only_fields(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
    bulk: bool,
) -> None:
    """A changed member is an update, which may not name CampaignId/ContactId/LeadId; a member
    whose record Id was lost, or one deleted in Salesforce, is re-sent as the other kind."""
    ps = people(emulator, 8)
    batching = {"collection_max": 3 if bulk else 200}
    load_inputs(duck, ps, [p.uid for p in ps])
    first = destinations(names, batching=batching)
    clients = _clients(sf_settings, policy, first)
    assert _run(duck, first, clients, "c1", "campaign")["campaign"].sent == 8
    members = {m["CDP_Member_Key__c"]: m["Id"] for m in emulator.state.all("CampaignMember")}
    # One member's record Id was never recorded (a lost response); another was deleted in
    # Salesforce by someone.
    lost, deleted = sorted(k for k in members if k.startswith(names.campaign_id))[:2]
    duck.execute(f"UPDATE delivery_state SET remote_id = NULL WHERE key = '{lost.split(':')[1]}'")
    del emulator.state.records["CampaignMember"][members[deleted]]

    responded = destinations(names, status="Responded", manage_status=True, batching=batching)
    report = _run(duck, responded, clients, "c2", "campaign")

    assert report.ok and report["campaign"].updates == 8 and report["campaign"].sent == 8
    stored = emulator.state.find("CampaignMember", CampaignId=names.campaign_id)
    assert len(stored) == 8 and all(m["Status"] == "Responded" for m in stored)
    assert all(m["HasResponded"] for m in stored)
    assert campaign_members(emulator, names.campaign_id) == {p.crm_id for p in ps}
    ids = table(duck, "SELECT key, remote_id FROM delivery_state WHERE destination = 'campaign'")
    assert {r["remote_id"] for r in ids} == {m["Id"] for m in stored}


def test_an_update_leaves_a_members_status_to_salesforce(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    """A rep marked a member Responded; another field's change used to reset it to Sent."""
    ps = people(emulator, 2)
    load_inputs(duck, ps, [p.uid for p in ps])
    first = destinations(names)
    clients = _clients(sf_settings, policy, first)
    _run(duck, first, clients, "s1", "campaign")
    [member, other] = emulator.state.find("CampaignMember", CampaignId=names.campaign_id)
    emulator.state.records["CampaignMember"][member["Id"]].update(
        Status="Responded", HasResponded=True
    )  # as a rep would, in Salesforce
    retagged = destinations(names, campaign_tag="retagged")
    assert _run(duck, retagged, clients, "s2", "campaign")["campaign"].sent == 2
    stored = {
        m["Id"]: m for m in emulator.state.find("CampaignMember", CampaignId=names.campaign_id)
    }
    assert stored[member["Id"]]["Status"] == "Responded" and stored[member["Id"]]["HasResponded"]
    assert stored[other["Id"]]["Status"] == "Sent"
    assert {m["CDP_Audience__c"] for m in stored.values()} == {"retagged"}


# ---- faults --------------------------------------------------------------------------------


def test_throttle_503_drop_and_token_expiry_are_retried_within_the_run(
    emulator: Emulator, names: Names, duck: DuckDBBackend, sf_settings: SalesforceSettings,
    policy: RetryPolicy, sleeps: list[float],
) -> None:  # fmt: skip
    ps = people(emulator, 30)
    dests = destinations(names, batching={"sync_max_rows": 50, "journey_batch": 10})
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps[:20]])
    faults = emulator.faults
    faults.throttle(r"POST /mc-rest/hub/v1/dataevents/key:" + names.de_key, retry_after=0.2)
    faults.error(r"PATCH /services/data/.*/composite/sobjects/CampaignMember", status=503)
    faults.drop(r"POST /mc-rest/hub/v1/dataevents/key:" + names.entry_de_key)  # idempotent: retried
    faults.expire_tokens(r"POST /mc-rest/interaction/v1/async/events", times=1)
    faults.throttle(r"POST /mc-rest/interaction/v1/async/events", retry_after=0.1, times=1)
    report = _run(duck, dests, clients, "faults")
    assert report.ok, report
    assert any(s >= 0.2 for s in sleeps)  # Retry-After honoured
    assert len(de_rows(emulator, names.de_key)) == 30
    assert len(campaign_members(emulator, names.campaign_id)) == 30
    keys = journey_keys(emulator, names.event_key)
    assert len(keys) == len(set(keys)) == 20


def test_outage_stops_destination_and_next_run_catches_up(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 10)
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps])
    emulator.faults.error(
        r"POST /mc-rest/hub/v1/dataevents/key:" + names.de_key, status=503, times=None
    )
    emulator.faults.error(r"/interaction/v1/async/events", status=503, times=None)
    report = _run(duck, dests, clients, "o1")
    assert report["de"].transient and report["de"].sent == 0 and report["de"].retry_later == 10
    assert report["journey"].transient and journey_keys(emulator, names.event_key) == []
    assert report["campaign"].sent == 10  # other destinations carry on
    emulator.faults.clear()
    report = _run(duck, dests, clients, "o2")
    assert report.ok and report["de"].sent == 10 and report["journey"].sent == 10
    assert len(journey_keys(emulator, names.event_key)) == 10
    states = table(duck, "SELECT DISTINCT status, attempts FROM delivery_state")
    assert states == [{"status": "sent", "attempts": 0}]  # outages do not count as row attempts


def test_an_org_out_of_its_api_allocation_is_waited_out_not_dead_lettered(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    """Salesforce core answers 403 REQUEST_LIMIT_EXCEEDED; it was terminal, so the members
    were failed, then dead after max_attempts, and never sent once the limit lifted. In
    preflight it stopped every destination as a config error."""
    ps = people(emulator, 4)
    dests = destinations(names, max_attempts=2)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps])
    emulator.faults.error(r"/composite/sobjects/CampaignMember", status=403, times=None)
    for run in ("l1", "l2", "l3"):  # the run fails transiently (Prefect retries it later)
        with pytest.raises(TransientError, match="REQUEST_LIMIT_EXCEEDED"):
            _run(duck, dests, clients, run, "campaign")
    assert table(duck, "SELECT COUNT(*) AS n FROM delivery_state WHERE status = 'dead'") == [
        {"n": 0}
    ]
    emulator.faults.clear()
    emulator.faults.error(r"/sobjects/CampaignMember/describe", status=403, times=None)
    with pytest.raises(TransientError, match="REQUEST_LIMIT_EXCEEDED"):
        _run(duck, dests, clients, "l4", "campaign")
    emulator.faults.clear()
    assert _run(duck, dests, clients, "l5", "campaign")["campaign"].sent == 4
    assert campaign_members(emulator, names.campaign_id) == {p.crm_id for p in ps}


def test_token_outage_during_a_journey_send_is_retried_not_uncertain(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 4)
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [], firings=[(ps[0].uid, "x")])
    _run(duck, dests, clients, "k1", "journey")  # the token is in hand
    load_inputs(duck, ps, [], firings=[(p.uid, "x") for p in ps])
    emulator.faults.expire_tokens(r"POST /mc-rest/interaction/v1/async/events", times=1)
    emulator.faults.drop(r"POST /mc-auth/v2/token", times=None)  # renewing it breaks off
    with pytest.raises(TransientError, match="Marketing Cloud token"):  # the run is retried
        _run(duck, dests, clients, "k2", "journey")
    # The token is fetched before the events call: nothing can have entered the journey.
    log = table(duck, "SELECT status, COUNT(*) AS n FROM sync_log WHERE run_id = 'k2' GROUP BY 1")
    assert log == [{"status": "retry", "n": 3}]
    assert table(duck, "SELECT COUNT(*) AS n FROM dead_letters") == [{"n": 0}]
    emulator.faults.clear()
    assert _run(duck, dests, clients, "k3", "journey")["journey"].sent == 3
    keys = journey_keys(emulator, names.event_key)
    assert len(keys) == len(set(keys)) == 4


def test_row_failures_retry_on_later_runs_then_dead_letter(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 8)
    bad = ps[2]
    dests = destinations(names, max_attempts=3)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps])
    faults = emulator.faults
    faults.fail_rows(names.de_key, lambda r: r.get("contact_key") == bad.crm_id)
    faults.fail_rows(names.event_key, lambda r: r.get("uid") == bad.uid)
    faults.fail_rows("CampaignMember", lambda r: r.get("ContactId", r.get("LeadId")) == bad.crm_id
                     or r.get("LeadId") == bad.crm_id)  # fmt: skip
    for i in range(3):
        report = _run(duck, dests, clients, f"rf{i}")
        assert [report[d].failed for d in ("de", "journey", "campaign")] == [1, 1, 1]
        assert [report[d].sent for d in ("de", "journey", "campaign")] == (
            [7, 7, 7] if i == 0 else [0, 0, 0]
        )
    assert [report[d].dead_lettered for d in ("de", "journey", "campaign")] == [1, 1, 1]
    log = table(
        duck,
        "SELECT destination, status, attempt, error_code FROM sync_log WHERE status IN ('failed', 'dead') ORDER BY destination, attempt",
    )
    assert [(r["destination"], r["attempt"], r["status"]) for r in log if r["destination"] == "de"] == [
        ("de", 1, "failed"), ("de", 2, "failed"), ("de", 3, "dead")]  # fmt: skip
    assert log[0]["error_code"]
    dead = table(
        duck, "SELECT destination, key, attempts, payload FROM dead_letters ORDER BY destination"
    )
    assert [d["destination"] for d in dead] == ["campaign", "de", "journey"]
    assert bad.uid in (dead[1]["payload"] or "")
    faults.clear()
    assert all(
        d.sent == 0 for d in _run(duck, dests, clients, "rf4").destinations
    )  # dead stays dead
    # ... until its payload changes
    load_inputs(
        duck,
        ps,
        [p.uid for p in ps],
        firings=[(p.uid, "x") for p in ps],
        emails={bad.uid: "fixed@example.com"},
    )
    report = _run(duck, dests, clients, "rf5")
    assert report["de"].sent == 1 and report["campaign"].sent == 0 and report["journey"].sent == 0
    assert journey_keys(emulator, names.event_key).count(f"abandon|{bad.uid}|x") == 0


def test_a_dead_update_is_still_removed_when_the_person_opts_out(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 4)
    bad, other = ps[1], ps[2]
    dests = destinations(names, max_attempts=2)
    clients = _clients(sf_settings, policy, dests)
    members = [p.uid for p in ps]
    load_inputs(duck, ps, members)
    _run(duck, dests, clients, "d1", "de")
    faults = emulator.faults
    faults.fail_rows(names.de_key, lambda r: r.get("contact_key") == bad.crm_id)
    load_inputs(duck, ps, members, emails={bad.uid: "new@example.com"})
    dead = [_run(duck, dests, clients, f"d{i}", "de")["de"].dead_lettered for i in (2, 3)]
    assert dead == [0, 1]  # the update is dead; their earlier row is still in the DE
    faults.clear()

    def delete_fails(person: Person, times: int | None) -> None:
        faults.error(rf"DELETE .*key:{names.de_key}/rows/.*{person.crm_id}", 400, times=times)

    delete_fails(bad, 1)
    load_inputs(duck, ps, members, opted_out={bad.uid})
    report = _run(duck, dests, clients, "d4", "de")
    assert report["de"].failed == 1 and report["de"].dead_lettered == 0  # the removal's own count
    assert _run(duck, dests, clients, "d5", "de")["de"].removed == 1
    assert set(de_rows(emulator, names.de_key)) == {p.crm_id for p in ps} - {bad.crm_id}
    # A removal given up on is not retried (nor dead-lettered again) on every later run.
    delete_fails(other, None)
    load_inputs(duck, ps, members, opted_out={bad.uid, other.uid})
    dead = [_run(duck, dests, clients, f"d{i}", "de")["de"].dead_lettered for i in (6, 7)]
    assert dead == [0, 1] and _run(duck, dests, clients, "d8", "de")["de"].removes == 0
    letters = table(duck, "SELECT operation FROM dead_letters WHERE destination = 'de'")
    assert [d["operation"] for d in letters] == ["update", "remove"]


def test_a_refused_request_counts_as_an_attempt_then_dead_letters(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 3)
    raw = destinations(names, max_attempts=2).model_dump()
    raw["destinations"][1]["event_definition_key"] = "APIEvent-no-such-event"  # HTTP 400
    dests = validate(Destinations, raw)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps])
    emulator.faults.error(rf"(PUT|POST) /mc-rest/.*key:{names.de_key}/", 400, times=None)
    reports = [
        deliver(duck, dests, clients, run_id=f"t{i}", now=NOW, only=["de", "journey"])
        for i in (1, 2, 3)
    ]
    for name in ("de", "journey"):
        runs = [(r[name].failed, r[name].dead_lettered) for r in reports]
        assert runs == [(3, 0), (3, 3), (0, 0)], name  # given up on: no longer sent every run
    dead = table(duck, "SELECT DISTINCT destination, error_code, attempts FROM dead_letters")
    assert sorted(d["destination"] for d in dead) == ["de", "journey"]
    assert {(d["error_code"], d["attempts"]) for d in dead} == {("TerminalError", 2)}
    assert journey_keys(emulator, names.event_key) == [] and de_rows(emulator, names.de_key) == {}


def test_uncertain_journey_batch_is_never_refired_until_released(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 6)
    dests = destinations(names, batching={"journey_batch": 3})
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [], firings=[(p.uid, "x") for p in ps])
    emulator.faults.drop(r"POST /mc-rest/interaction/v1/async/events", times=1)  # first batch
    report = _run(duck, dests, clients, "u1", "journey")
    assert report["journey"].uncertain == 3 and report["journey"].sent == 3
    dead = table(duck, "SELECT key, error_code FROM dead_letters WHERE destination = 'journey'")
    assert len(dead) == 3 and {d["error_code"] for d in dead} == {"UNCERTAIN_DELIVERY"}
    assert _run(duck, dests, clients, "u2", "journey")["journey"].sent == 0  # not re-fired
    # The operator checked Journey Builder (the drop happened before SFMC saw it) and releases them.
    release_uncertain(duck, "journey")
    assert _run(duck, dests, clients, "u3", "journey")["journey"].sent == 3
    keys = journey_keys(emulator, names.event_key)
    assert len(keys) == len(set(keys)) == 6


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_journey_batch_answered_5xx_is_uncertain_not_resent(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
    status: int,
) -> None:
    """A gateway's 5xx can follow a batch the backend queued: re-sending it (as every 5xx was)
    entered people in the journey twice. 503 and 429 refuse before processing: still retried."""
    everyone = people(emulator, 5)
    ps = everyone[:3]
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, everyone, [], firings=[(p.uid, "x") for p in ps])
    emulator.faults.error(r"POST /mc-rest/interaction/v1/async/events", status=status)
    start = len(emulator.state.request_log)
    report = _run(duck, dests, clients, "g1", "journey")
    assert report["journey"].uncertain == 3 and report["journey"].sent == 0
    posts = [r for r in emulator.state.request_log[start:] if "/async/events" in r.path]
    assert len(posts) == 1
    emulator.faults.error(r"POST /mc-rest/interaction/v1/async/events", status=503)
    load_inputs(duck, everyone, [], firings=[(p.uid, "x") for p in everyone])
    assert _run(duck, dests, clients, "g2", "journey")["journey"].sent == 2  # retried in the run


def test_pending_left_by_a_crash_becomes_uncertain(
    emulator: Emulator, names: Names, duck: DuckDBBackend, sf_settings: SalesforceSettings,
    policy: RetryPolicy, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from cdp.salesforce.marketing_cloud import MarketingCloudClient

    ps = people(emulator, 4)
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    load_inputs(duck, ps, [], firings=[(p.uid, "x") for p in ps])
    real = MarketingCloudClient.fire_events_batch

    def crash_after_send(self, *a, **kw):  # type: ignore[no-untyped-def]
        real(self, *a, **kw)
        raise KeyboardInterrupt  # the process dies before recording the outcome

    monkeypatch.setattr(MarketingCloudClient, "fire_events_batch", crash_after_send)
    with pytest.raises(KeyboardInterrupt):
        _run(duck, dests, clients, "c1", "journey")
    monkeypatch.setattr(MarketingCloudClient, "fire_events_batch", real)
    assert {r["status"] for r in table(duck, "SELECT status FROM delivery_state")} == {"pending"}
    report = _run(duck, dests, clients, "c2", "journey")
    assert report["journey"].uncertain == 4 and report["journey"].sent == 0
    assert len(journey_keys(emulator, names.event_key)) == 4  # exactly once, never twice


# ---- dry run, config, secrets, SQL -----------------------------------------------------------


def test_dry_run_sends_nothing(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    ps = people(emulator, 6)
    dests = destinations(names)
    load_inputs(duck, ps, [p.uid for p in ps[:4]], firings=[(ps[0].uid, "x")])
    before = len(emulator.state.request_log)
    report = deliver(
        duck, dests, _clients(sf_settings, policy, dests), run_id="d", dry_run=True, now=NOW
    )
    assert len(emulator.state.request_log) == before
    assert [(d.adds, d.removes) for d in report.destinations] == [(4, 0), (1, 0), (4, 0)]
    sample = report["de"].samples["add"][0]
    assert sample["audience_key"] == "aud" and sample["contact_key"] == ps[0].crm_id
    plan = plan_delivery(duck, dests.get("campaign"), now=NOW, sample=2)
    assert plan.adds == 4 and len(plan.samples["add"]) == 2
    assert table(duck, "SELECT COUNT(*) AS n FROM delivery_state") == [{"n": 0}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fields": {"contact_key": "crm_record_id", "nope": "uid"}}, "'nope' is not a field"),
        (
            {"fields": {"contact_key": "no_such_column"}},
            "unknown warehouse column 'no_such_column'",
        ),
        ({"de_key": "no_such_de", "de_fields": None}, "no_such_de"),
        ({"primary_key": ["contact_key"], "de_fields": None}, "primary key"),
    ],
)
def test_bad_data_extension_config_fails_before_sending(
    emulator: Emulator, names: Names, duck: DuckDBBackend, sf_settings: SalesforceSettings,
    policy: RetryPolicy, change: dict[str, object], message: str,
) -> None:  # fmt: skip
    ps = people(emulator, 3)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(ps[0].uid, "x")])
    raw = destinations(names).model_dump()
    raw["destinations"][2] |= {}
    raw["destinations"][0] |= change
    dests = validate(Destinations, raw)
    before = len(emulator.state.requests("/rows"))
    with pytest.raises(ConfigError, match=message) as err:
        _run(duck, dests, _clients(sf_settings, policy, dests), "bad")
    assert "destinations.de" in str(err.value)
    assert journey_keys(emulator, names.event_key) == [] and not campaign_members(
        emulator, names.campaign_id
    )
    assert len(emulator.state.requests("/rows")) - before <= 1  # at most the no-op probe


def test_bad_campaign_config_and_missing_credentials(
    emulator: Emulator, names: Names, duck: DuckDBBackend, sf_settings: SalesforceSettings,
    policy: RetryPolicy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    sf_env: dict[str, str],
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    ps = people(emulator, 3)
    load_inputs(duck, ps, [p.uid for p in ps])
    raw = destinations(names).model_dump()
    raw["destinations"][2]["external_id_field"] = "CDP_Audience__c"
    dests = validate(Destinations, raw)
    with pytest.raises(ConfigError, match="not an external id field"):
        _run(duck, dests, _clients(sf_settings, policy, dests), "bad")
    dests = destinations(names)
    monkeypatch.delenv("CDP_MC_CLIENT_SECRET")
    with pytest.raises(ConfigError, match="CDP_MC_CLIENT_SECRET is not set"):
        _run(duck, dests, _clients(sf_settings, policy, dests), "bad")
    # A wrong secret: a terminal error, no secret in the message or the log.
    monkeypatch.setenv("CDP_MC_CLIENT_SECRET", "wrong-secret-value-123")
    with pytest.raises(ConfigError) as err:
        _run(duck, dests, _clients(sf_settings, policy, dests), "bad")
    assert not campaign_members(emulator, names.campaign_id) and not de_rows(emulator, names.de_key)
    text = str(err.value) + caplog.text
    for secret in [*sf_env.values(), "wrong-secret-value-123"]:
        assert secret not in text


def test_config_validation_messages(tmp_path: Path) -> None:
    dests = load_destinations(EXAMPLE)
    assert [d.type for d in dests.destinations] == [
        "mc_data_extension",
        "journey_entry",
        "campaign_members",
    ]
    bad = tmp_path / "d.yaml"
    bad.write_text(
        "destinations:\n  - {name: x, type: mc_data_extension, source: {audience: a}, de_key: k, primary_key: [id], fields: {id: 'uid; DROP'}}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"d.yaml: destinations.0.mc_data_extension.fields.*not a warehouse column",
    ):
        load_destinations(bad)
    bad.write_text(
        "destinations:\n  - {name: j, type: journey_entry, source: {audience: a}, event_definition_key: E}\n"
    )
    with pytest.raises(ConfigError, match="triggers source"):
        load_destinations(bad)
    bad.write_text("max_attempts: 3\nbatching: {async_max_rows: 50000}\n")
    with pytest.raises(ConfigError, match=r"batching\.async_max_rows"):
        load_destinations(bad)


def test_diff_sql_golden(duck: DuckDBBackend, bq_renderer) -> None:  # type: ignore[no-untyped-def]
    columns = {
        "profiles": ["uid", "crm_record_id", "record_type", "email", "opted_out", "customer_type",
                     "device_count", "first_seen", "last_seen", "crm_matched"],
        "audience_members": ["audience", "uid", "crm_record_id", "entered_at", "qualifying_events",
                             "last_event_at", "run_id", "is_holdout"],
        "trigger_firings": ["trigger", "uid", "start_event_key", "start_event_ts", "fired_at",
                            "deliver_after", "expires_at", "model"],
    }  # fmt: skip
    for dest in load_destinations(EXAMPLE).destinations:
        sql = plan_query(dest, columns).sql
        for backend in (duck, bq_renderer):
            assert_golden(f"delivery_plan_{dest.type}", backend.dialect, backend.render(sql))


def test_changes_the_delivery_state_cannot_follow_are_refused(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    """Another DE or key fields under the same name (stored keys were decoded with the new
    fields: junk rows, or a KeyError that stopped every destination), or a renamed journey
    (no state: every live firing entered again)."""
    ps = people(emulator, 3)
    load_inputs(duck, ps, [p.uid for p in ps], firings=[(p.uid, "x") for p in ps])
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    assert _run(duck, dests, clients, "t1").ok
    raw = dests.model_dump()
    changes = {
        "primary key": lambda d: d[0].update(primary_key=["contact_key"]),
        "DE": lambda d: d[0].update(de_key="another_de"),
        "journey name": lambda d: d[1].update(name="journey_v2"),
    }
    for what, change in changes.items():
        changed = copy.deepcopy(raw)
        change(changed["destinations"])
        with pytest.raises(ConfigError, match="give the new target a new destination name"
                           if what != "journey name" else "keep the name 'journey'"):  # fmt: skip
            _run(duck, validate(Destinations, changed), clients, f"t-{what}")
    assert len(journey_keys(emulator, names.event_key)) == 3


def test_a_renamed_field_is_a_change_to_send(duck: DuckDBBackend, names: Names) -> None:
    """Only the values were hashed: mapping the same value to another field sent nothing."""
    from cdp.delivery import tables
    from cdp.delivery.diff import plan_query
    from cdp.delivery.preflight import source_columns

    tables.ensure_tables(duck)
    load_inputs(duck, [Person("u1", "003x", "Contact", "a@x")], ["u1"])
    raw = destinations(names).model_dump()
    before = validate(Destinations, raw).get("de")
    raw["destinations"][0]["fields"] = {
        "contact_key": "crm_record_id",
        "email": "uid",
        "uid": "email",
    }
    after = validate(Destinations, raw).get("de")
    hashes = [
        duck.query(plan_query(d, source_columns(duck, d)).sql, {"now": NOW}).column("_cdp_hash")[0]
        for d in (before, after)
    ]
    assert hashes[0] != hashes[1]


def test_a_destination_refused_outright_fails_the_run(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    """A destination stopped by a terminal error left the flow run Completed; one that failed
    transiently, or rows refused one by one, do not fail it."""
    from cdp.errors import DeliveryError

    ps = people(emulator, 3)
    load_inputs(duck, ps, [p.uid for p in ps])
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    emulator.faults.error(r"/composite/sobjects/CampaignMember", status=400, times=None)
    report = _run(duck, dests, clients, "r1")
    assert report["campaign"].error and not report["campaign"].transient
    assert report["de"].sent == 3  # the others carried on
    with pytest.raises(DeliveryError, match="campaign stopped"):
        report.raise_if_stopped()
    emulator.faults.clear()
    _run(duck, dests, clients, "r2").raise_if_stopped()


def test_a_misspelt_audience_is_refused_not_emptied(
    emulator: Emulator,
    names: Names,
    duck: DuckDBBackend,
    sf_settings: SalesforceSettings,
    policy: RetryPolicy,
) -> None:
    """It read as an empty audience: every member the destination held was removed."""
    ps = people(emulator, 3)
    load_inputs(duck, ps, [p.uid for p in ps])
    dests = destinations(names)
    clients = _clients(sf_settings, policy, dests)
    assert _run(duck, dests, clients, "m1", "campaign")["campaign"].sent == 3
    raw = dests.model_dump()
    raw["destinations"][2]["source"] = {"audience": "aud_typo"}
    with pytest.raises(
        ConfigError, match=r"no audience 'aud_typo' has been evaluated \(known: aud\)"
    ):
        _run(duck, validate(Destinations, raw), clients, "m2", "campaign")
    assert campaign_members(emulator, names.campaign_id) == {p.crm_id for p in ps}
