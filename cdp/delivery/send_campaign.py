"""Sales Cloud campaign members: upsert by external id (idempotent), delete by record Id.

Collections (<= 200 records per call) when the run's diff is small, Bulk API 2.0 otherwise
(facts §3.4-3.5). Record Ids from the upsert results are kept in `delivery_state.remote_id`
for removals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdp.delivery.config import CampaignDestination
from cdp.delivery.state import Outcome, PlanRow
from cdp.salesforce.sales_cloud import SalesCloudClient

_GONE = ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    # ContactId/LeadId: send only the one that applies (neither is updateable).
    return {k: v for k, v in record.items() if v is not None or k not in ("ContactId", "LeadId")}


def upsert(
    sales: SalesCloudClient,
    dest: CampaignDestination,
    records: Sequence[Mapping[str, Any]],
    *,
    bulk: bool,
) -> list[Outcome]:
    ext = dest.external_id_field
    clean = [_clean(r) for r in records]
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
    return [by_key.get(str(r[ext]), missing) for r in records]


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
