from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.errors import ConfigError, TerminalError
from cdp.salesforce.crm_pull import CRM_TABLE, pull_crm
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import Emulator


def test_soql_pages_follow_next_records_url(sales: SalesCloudClient, emulator: Emulator) -> None:
    emulator.state.config.query_page_size = 25
    pages = list(sales.query_pages("SELECT Id, Email FROM Contact ORDER BY SystemModstamp, Id"))
    total = len(emulator.state.all("Contact"))
    assert [len(p) for p in pages[:-1]] == [25] * (len(pages) - 1)
    assert sum(len(p) for p in pages) == total
    assert len({r["Id"] for p in pages for r in p}) == total
    assert len(emulator.state.requests("GET /services/data/v59.0/query/")) >= len(pages) - 1


def test_unknown_field_is_terminal_invalid_field(sales: SalesCloudClient) -> None:
    with pytest.raises(TerminalError, match="INVALID_FIELD"):
        list(sales.query_pages("SELECT Id, Shoe_Size__c FROM Contact"))


def test_full_then_incremental_pull(sales: SalesCloudClient, emulator: Emulator) -> None:
    emulator.state.config.query_page_size = 40
    backend = DuckDBBackend(":memory:")
    rows, watermark = pull_crm(sales, backend, since=None)
    expected = len(emulator.state.all("Contact")) + len(emulator.state.all("Lead"))
    assert rows == expected
    table = backend.query(f"SELECT * FROM {CRM_TABLE}")
    assert table.num_rows == expected
    assert set(table.column("record_type").to_pylist()) == {"Contact", "Lead"}
    assert table.schema.field("opted_out").type == "bool"
    assert watermark is not None

    # Edit two records in the org (a new email; an opt-out) and pull again.
    contact = emulator.state.all("Contact")[0]
    lead = emulator.state.all("Lead")[0]
    results = sales.upsert_collection(
        "Contact",
        "Web_User_Id__c",
        [{"Web_User_Id__c": contact["Web_User_Id__c"], "Email": "new.address@example.com"}],
    )
    assert results[0].success and results[0].created is False
    sales.upsert_collection(
        "Lead",
        "Web_User_Id__c",
        [{"Web_User_Id__c": lead["Web_User_Id__c"], "HasOptedOutOfEmail": True}],
    )

    rows2, watermark2 = pull_crm(sales, backend, since=watermark)
    assert 2 <= rows2 < expected  # the boundary second may be re-read; nothing else
    assert watermark2 is not None and watermark2 > watermark
    merged = backend.query(f"SELECT record_id, email, opted_out FROM {CRM_TABLE}").to_pylist()
    assert len(merged) == expected  # merged by record_id, no duplicates
    by_id = {r["record_id"]: r for r in merged}
    assert by_id[contact["Id"]]["email"] == "new.address@example.com"
    assert by_id[lead["Id"]]["opted_out"] is True
    query = [r for r in emulator.state.requests("GET /services/data/v59.0/query")][-1]
    assert query.status == 200

    rows3, watermark3 = pull_crm(sales, backend, since=watermark2)
    assert rows3 <= 2  # only the boundary second again
    assert watermark3 == watermark2


def test_configured_attribute_must_exist(sf_settings: SalesforceSettings) -> None:
    crm = sf_settings.sales_cloud.crm.model_copy(update={"attributes": {"shoe": "Shoe_Size__c"}})
    settings = sf_settings.model_copy(
        update={"sales_cloud": sf_settings.sales_cloud.model_copy(update={"crm": crm})}
    )
    with pytest.raises(ConfigError, match="Shoe_Size__c"):
        pull_crm(SalesCloudClient(settings), DuckDBBackend(":memory:"), since=None)


def test_attributes_are_typed_from_describe(sf_settings: SalesforceSettings) -> None:
    crm = sf_settings.sales_cloud.crm.model_copy(
        update={"attributes": {"first_name": "FirstName", "created_at": "CreatedDate"}}
    )
    settings = sf_settings.model_copy(
        update={"sales_cloud": sf_settings.sales_cloud.model_copy(update={"crm": crm})}
    )
    backend = DuckDBBackend(":memory:")
    pull_crm(SalesCloudClient(settings), backend, since=None)
    schema = backend.query(f"SELECT first_name, created_at FROM {CRM_TABLE} LIMIT 1").schema
    assert str(schema.field("first_name").type) == "string"
    assert str(schema.field("created_at").type).startswith("timestamp")


def test_the_pipeline_pulls_incrementally_and_in_full_when_due(
    sales: SalesCloudClient, emulator: Emulator
) -> None:
    from datetime import UTC, datetime, timedelta

    from cdp.salesforce.crm_pull import STATE_TABLE, sync_crm

    backend = DuckDBBackend(":memory:")
    everyone = len(emulator.state.all("Contact")) + len(emulator.state.all("Lead"))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert sync_crm(sales, backend, now=t0) == (everyone, "full")  # no state yet
    contact = emulator.state.all("Contact")[0]
    sales.upsert_collection("Contact", "Web_User_Id__c",
                            [{"Web_User_Id__c": contact["Web_User_Id__c"], "Email": "x@example.com"}])  # fmt: skip
    rows, mode = sync_crm(sales, backend, now=t0 + timedelta(hours=1))
    assert mode == "incremental" and 1 <= rows < everyone
    email = backend.scalar(f"SELECT email FROM {CRM_TABLE} WHERE record_id = '{contact['Id']}'")
    assert email == "x@example.com"
    assert backend.scalar(f"SELECT COUNT(*) FROM {CRM_TABLE}") == everyone
    # A full pull (the only one to drop records deleted in Salesforce) once a day by default.
    assert sync_crm(sales, backend, now=t0 + timedelta(hours=24)) == (everyone, "full")
    assert backend.scalar(f"SELECT last_full_at FROM {STATE_TABLE}") == t0 + timedelta(hours=24)
    backend.execute(f"DROP TABLE {CRM_TABLE}")
    assert sync_crm(sales, backend, now=t0 + timedelta(hours=25))[1] == "full"  # table gone


def test_an_edit_made_while_another_object_is_read_is_not_lost(
    sales: SalesCloudClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contacts are read, then Leads. A Contact opting out while Leads were read is stamped
    below the Leads' latest: one watermark over both skipped it until the next full pull."""
    backend = DuckDBBackend(":memory:")
    _, watermark = pull_crm(sales, backend, since=None)
    assert watermark is not None
    contact, lead = emulator.state.all("Contact")[0], emulator.state.all("Lead")[0]
    later = watermark + timedelta(minutes=5)
    real = sales.query_pages

    def edits_during_the_lead_query(soql: str) -> Iterator[list[dict[str, Any]]]:
        if "FROM Lead" in soql:  # the Contacts are read already
            emulator.state.records["Contact"][contact["Id"]]["HasOptedOutOfEmail"] = True
            emulator.state.touch("Contact", contact["Id"], at=later)
            emulator.state.touch("Lead", lead["Id"], at=later + timedelta(seconds=90))
        yield from real(soql)

    monkeypatch.setattr(sales, "query_pages", edits_during_the_lead_query)
    _, watermark = pull_crm(sales, backend, since=watermark)
    monkeypatch.setattr(sales, "query_pages", real)
    assert watermark is not None and watermark < later  # the Contacts' latest, not the Leads'
    pull_crm(sales, backend, since=watermark)
    opted = backend.scalar(f"SELECT opted_out FROM {CRM_TABLE} WHERE record_id = '{contact['Id']}'")
    assert opted is True
