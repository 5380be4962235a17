from __future__ import annotations

import pytest

from cdp.errors import TerminalError
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.sandbox.salesforce import Emulator
from cdp.sandbox.salesforce.demo import DemoOrg


def _members(
    emulator: Emulator, demo: DemoOrg, tag: str, n: int, start: int = 0
) -> list[dict[str, object]]:
    contacts = emulator.state.all("Contact")[start : start + n]
    return [
        {
            "CDP_Member_Key__c": f"{tag}:{c['Id']}",
            "CampaignId": demo.campaign_id,
            "ContactId": c["Id"],
            "Status": "Sent",
            "CDP_Audience__c": tag,
        }
        for c in contacts
    ]


def test_bulk_upsert_campaign_members_with_partial_failures(
    sales: SalesCloudClient, emulator: Emulator, demo: DemoOrg
) -> None:
    records = _members(emulator, demo, "bulk-a", 12)
    records[3]["Status"] = "Not A Status"  # validation failure reported per row
    doomed = records[5]["CDP_Member_Key__c"]
    emulator.faults.fail_rows(
        "CampaignMember",
        lambda r: r.get("CDP_Member_Key__c") == doomed,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "blocked",
    )

    result = sales.upsert_bulk("CampaignMember", "CDP_Member_Key__c", records)

    assert len(result.job_ids) == 1
    assert len(result.successful) == 10 and all(s.created for s in result.successful)
    assert sorted(f.code for f in result.failed) == [
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ]
    assert {f.record["CDP_Member_Key__c"] for f in result.failed} == {
        doomed,
        records[3]["CDP_Member_Key__c"],
    }
    stored = emulator.state.find("CampaignMember", CDP_Audience__c="bulk-a")
    assert len(stored) == 10

    # Second run: the same keys update in place (sf__Created false), the status change lands.
    # CampaignId and ContactId are createable, not updateable: an update that names them is
    # refused, even unchanged, so the existing members' rows leave them empty (in a Bulk CSV, an
    # empty value is no value) while the two new ones carry them.
    emulator.faults.clear()
    created = {s.record["CDP_Member_Key__c"] for s in result.successful}
    refused = sales.upsert_bulk(
        "CampaignMember", "CDP_Member_Key__c", [records[0] | {"Status": "Responded"}]
    )
    assert [f.code for f in refused.failed] == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
    assert "CampaignId" in refused.failed[0].error
    for r in records:
        r["Status"] = "Responded"
        if r["CDP_Member_Key__c"] in created:
            del r["CampaignId"], r["ContactId"]
    again = sales.upsert_bulk("CampaignMember", "CDP_Member_Key__c", records)
    assert len(again.successful) == 12 and sum(s.created for s in again.successful) == 2
    assert all(
        m["HasResponded"] for m in emulator.state.find("CampaignMember", CDP_Audience__c="bulk-a")
    )


def test_bulk_delete_and_null_values(
    sales: SalesCloudClient, emulator: Emulator, demo: DemoOrg
) -> None:
    records = _members(emulator, demo, "bulk-del", 3, start=40)
    done = sales.upsert_bulk(
        "CampaignMember", "CDP_Member_Key__c", [r | {"CDP_Audience__c": None} for r in records]
    )
    stored = [
        m
        for m in emulator.state.all("CampaignMember")
        if m["CDP_Member_Key__c"].startswith("bulk-del")
    ]
    assert len(stored) == 3 and all(m["CDP_Audience__c"] is None for m in stored)

    # A second member for the same campaign + contact is refused, as in a real org.
    dup = sales.upsert_bulk(
        "CampaignMember", "CDP_Member_Key__c", [records[0] | {"CDP_Member_Key__c": "bulk-del:dup"}]
    )
    assert [f.code for f in dup.failed] == ["DUPLICATE_VALUE"]
    ids = [s.id for s in done.successful]
    deleted = sales.delete_bulk("CampaignMember", [*ids, "00v5Lw000000zzzAAA"])
    assert len(deleted.successful) == 3
    assert [f.code for f in deleted.failed] == ["ENTITY_IS_DELETED"]
    assert not [m for m in emulator.state.all("CampaignMember") if m["Id"] in ids]


def test_bulk_job_with_unknown_column_fails_terminally(sales: SalesCloudClient) -> None:
    with pytest.raises(TerminalError, match="Field name not found"):
        sales.upsert_bulk(
            "Contact", "Web_User_Id__c", [{"Web_User_Id__c": "x1", "Shoe_Size__c": "44"}]
        )


def test_collection_upsert_per_item_results(sales: SalesCloudClient, emulator: Emulator) -> None:
    records: list[dict[str, object]] = [
        {
            "Web_User_Id__c": "coll-1",
            "LastName": "One",
            "Email": "one@example.com",
            "HasOptedOutOfEmail": False,
        },
        {"Web_User_Id__c": "coll-2", "LastName": "Two", "Email": "not-an-email"},
        {"Web_User_Id__c": "coll-3", "Email": "three@example.com"},  # LastName missing on insert
    ]
    results = sales.upsert_collection("Contact", "Web_User_Id__c", records)
    assert [r.key for r in results] == ["coll-1", "coll-2", "coll-3"]
    assert [r.success for r in results] == [True, False, False]
    assert results[0].created is True
    assert results[1].errors[0].code == "INVALID_EMAIL_ADDRESS"
    assert results[2].errors[0].code == "REQUIRED_FIELD_MISSING"
    assert emulator.state.find("Contact", Web_User_Id__c="coll-1")


def test_collection_all_or_none_rolls_back(sales: SalesCloudClient, emulator: Emulator) -> None:
    records = [
        {"Web_User_Id__c": "aon-1", "LastName": "A"},
        {"Web_User_Id__c": "aon-2", "LastName": "B", "Customer_Type__c": "Alien"},
    ]
    results = sales.upsert_collection("Contact", "Web_User_Id__c", records, all_or_none=True)
    assert [r.success for r in results] == [False, False]
    assert results[0].errors[0].code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert not emulator.state.find("Contact", Web_User_Id__c="aon-1")


def test_collection_over_200_is_chunked_and_delete_collection(
    sales: SalesCloudClient, emulator: Emulator
) -> None:
    records = [{"Web_User_Id__c": f"chunk-{i}", "LastName": f"L{i}"} for i in range(205)]
    results = sales.upsert_collection("Contact", "Web_User_Id__c", records)
    assert len(results) == 205 and all(r.success for r in results)
    assert (
        len(emulator.state.requests("PATCH /services/data/v59.0/composite/sobjects/Contact")) >= 2
    )
    deleted = sales.delete_collection([r.id for r in results if r.id])
    assert all(d.success for d in deleted)
    assert not [
        c for c in emulator.state.all("Contact") if str(c["Web_User_Id__c"]).startswith("chunk-")
    ]


def test_unknown_external_id_field_is_terminal(sales: SalesCloudClient) -> None:
    with pytest.raises(TerminalError, match="INVALID_FIELD"):
        sales.upsert_collection("Contact", "Email", [{"Email": "a@example.com"}])


def test_collection_delete_results_are_keyed_by_the_id_sent(sales: SalesCloudClient) -> None:
    """A failed result may carry no id: keyed by its own id it matched no row, whose removal
    was then retried forever without counting an attempt."""
    results = sales.delete_collection(["not-an-id"])
    assert [(r.key, r.success, r.errors[0].code) for r in results] == [
        ("not-an-id", False, "MALFORMED_ID")
    ]
