"""Sales Cloud campaign members: upsert by external id (idempotent), delete by record Id.

Collections (<= 200 records per call) when the run's diff is small, Bulk API 2.0 otherwise
(facts §3.4-3.5). Record Ids from the upsert results are kept in `delivery_state.remote_id`
for removals.

`CampaignId`, `ContactId` and `LeadId` are createable but not updateable (facts §3.6), and an
upsert that resolves to an update is refused when it names a field the update cannot set. So a
member known to exist (it has a record Id) is sent without them, a new one with them; a guess
proved wrong (a member created by a run whose response was lost, or deleted in Salesforce since)
is re-sent once as the other kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdp.delivery.config import CampaignDestination
from cdp.delivery.state import Outcome, PlanRow
from cdp.salesforce.sales_cloud import SalesCloudClient

_GONE = ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")
_CREATE_ONLY = ("CampaignId", "ContactId", "LeadId")
# The error that proves the guess wrong: for a member sent as existing / as new.
_WRONG_GUESS = {True: "REQUIRED_FIELD_MISSING", False: "INVALID_FIELD_FOR_INSERT_UPDATE"}


def _record(record: Mapping[str, Any], *, exists: bool, status: bool) -> dict[str, Any]:
    """The fields to send; `status`: an existing member's Status is ours to set (else a rep's or
    a journey's "Responded" would be reset by any other field's change)."""
    if exists:
        skip = _CREATE_ONLY if status else (*_CREATE_ONLY, "Status")
        return {k: v for k, v in record.items() if k not in skip}
    # A new member names its Contact or its Lead, not both.
    return {k: v for k, v in record.items() if v is not None or k not in ("ContactId", "LeadId")}


def upsert(
    sales: SalesCloudClient,
    dest: CampaignDestination,
    records: Sequence[Mapping[str, Any]],
    exists: Sequence[bool],
    *,
    bulk: bool,
) -> list[Outcome]:
    """Upsert `records`; `exists[i]`: record i is a member created before (it has a record Id)."""
    status = dest.manage_status
    out = _send(sales, dest, [_record(r, exists=e, status=status)
                              for r, e in zip(records, exists, strict=True)], bulk=bulk)  # fmt: skip
    wrong = [i for i, o in enumerate(out) if o.error_code == _WRONG_GUESS[exists[i]]]
    if wrong:
        again = [_record(records[i], exists=not exists[i], status=status) for i in wrong]
        for i, outcome in zip(wrong, _send(sales, dest, again, bulk=bulk), strict=True):
            out[i] = outcome
    return out


def _send(
    sales: SalesCloudClient,
    dest: CampaignDestination,
    clean: Sequence[Mapping[str, Any]],
    *,
    bulk: bool,
) -> list[Outcome]:
    ext = dest.external_id_field
    if not bulk:
        results = sales.upsert_collection("CampaignMember", ext, clean)
        return [
            Outcome("sent", remote_id=r.id)
            if r.success
            else Outcome(
                "failed",
                r.errors[0].code if r.errors else "ERROR",
                r.errors[0].message if r.errors else None,
            )
            for r in results
        ]
    result = sales.upsert_bulk("CampaignMember", ext, clean)
    by_key: dict[str, Outcome] = {}
    for ok in result.successful:
        by_key[ok.record.get(ext, "")] = Outcome("sent", remote_id=ok.id)
    for bad in result.failed:
        by_key[bad.record.get(ext, "")] = Outcome("failed", bad.code, bad.error)
    for left in result.unprocessed:
        by_key[left.get(ext, "")] = Outcome(
            "retry", "UNPROCESSED", "Bulk job left the row unprocessed"
        )
    missing = Outcome("retry", "NO_RESULT", "no Bulk result for the row")
    return [by_key.get(str(r[ext]), missing) for r in clean]


def delete(sales: SalesCloudClient, rows: Sequence[PlanRow], *, bulk: bool) -> list[Outcome]:
    ids = [r["_cdp_remote_id"] for r in rows if r.get("_cdp_remote_id")]
    by_id: dict[str, Outcome] = {}
    if ids and not bulk:
        for res in sales.delete_collection(ids):
            code = res.errors[0].code if res.errors else ""
            by_id[res.key or ""] = (
                Outcome("removed")
                if res.success or code in _GONE
                else Outcome("failed", code, res.errors[0].message if res.errors else None)
            )
    elif ids:
        result = sales.delete_bulk("CampaignMember", ids)
        for ok in result.successful:
            by_id[ok.id] = Outcome("removed")
        for bad in result.failed:
            rid = bad.id or bad.record.get("Id", "")
            by_id[rid] = (
                Outcome("removed") if bad.code in _GONE else Outcome("failed", bad.code, bad.error)
            )
    return [
        by_id.get(r["_cdp_remote_id"], Outcome("retry", "NO_RESULT", "no delete result"))
        if r.get("_cdp_remote_id")
        else Outcome("skipped")  # never created (no record Id): nothing to delete
        for r in rows
    ]
