"""Marketing Cloud data extension writes: upserts (rowset for small diffs, async otherwise),
removals (delete / flag / mirror) and mirror-mode inserts. All idempotent, so retried freely
(the client retries transient failures; a batch that still fails is offered again next run).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cdp.delivery.config import Batching
from cdp.delivery.payload import chunks
from cdp.delivery.state import Outcome, PlanRow
from cdp.errors import TerminalError
from cdp.salesforce.marketing_cloud import MarketingCloudClient, RowResult

log = logging.getLogger(__name__)
Row = Mapping[str, Any]


def _row_outcomes(results: list[RowResult], n: int, ok: Outcome) -> list[Outcome]:
    if len(results) != n:  # results do not line up with rows: retry them all (idempotent)
        if results and all(r.ok for r in results):
            return [ok] * n
        return [Outcome("retry", "RESULTS_MISMATCH", f"{len(results)} results for {n} rows")] * n
    return [ok if r.ok else Outcome("failed", r.error_code or r.status, r.message) for r in results]


def upsert_async(
    mc: MarketingCloudClient, de_key: str, rows: Sequence[Row], ok: Outcome
) -> list[Outcome]:
    """Upsert `rows` in one async job; each row's outcome.

    When the job had errors but its results do not line up with the rows (the documented
    results list only the error items, with no row key), the rows are upserted again in halves
    until they do: an upsert is idempotent, and a single row's results are its own. That costs
    about two jobs per halving for each bad row, instead of retrying the whole batch forever.
    """
    results = mc.wait_for_request(mc.upsert_rows_async(de_key, rows), rows=len(rows))
    if len(results) == len(rows):  # always so when the job had no errors
        return _row_outcomes(results, len(rows), ok)
    if len(rows) == 1:
        errors = [r for r in results if not r.ok]
        if not errors:
            return [Outcome("failed", "ASYNC_ERROR", "the job reported errors but listed none")]
        return [Outcome("failed", errors[0].error_code or errors[0].status, errors[0].message)]
    half = len(rows) // 2
    return upsert_async(mc, de_key, rows[:half], ok) + upsert_async(mc, de_key, rows[half:], ok)


def upsert(
    mc: MarketingCloudClient,
    de_key: str,
    primary_key: Sequence[str],
    rows: Sequence[Row],
    batching: Batching,
    *,
    sync: bool,
    ok: Outcome = Outcome("sent"),
) -> list[Outcome]:
    """Sync rowset (<= sync_max_rows per call) when `sync`, else async (<= async_max_rows)."""
    out: list[Outcome] = []
    if not sync:
        for chunk in chunks(rows, batching.async_max_rows):
            out += upsert_async(mc, de_key, chunk, ok)
        return out
    for chunk in chunks(rows, batching.sync_max_rows):
        try:
            mc.upsert_rowset(de_key, chunk, primary_keys=primary_key)
            out += [ok] * len(chunk)
        except TerminalError:
            # A rowset is all-or-nothing: resend it async, whose results name the bad rows.
            out += upsert_async(mc, de_key, chunk, ok)
    return out


def insert_owned(
    mc: MarketingCloudClient, de_key: str, rows: Sequence[Row], batching: Batching
) -> list[Outcome]:
    """Mirror mode: insert; rows that already existed were not created by us (owned=false)
    and are upserted instead. After an interrupted insert our own rows look foreign too,
    which errs on the safe side (they are never deleted).

    When a job had errors but its results do not line up with the rows (error items without a
    row key), a row that failed, one that existed before and one this job created cannot be
    told apart: the chunk is upserted (idempotent, its bad rows found by halving) and no row of
    it counts as ours. Leaving a row of ours in the DE on exit is the safe side of deleting one
    that was not.
    """
    out: list[Outcome] = []
    for chunk in chunks(rows, batching.async_max_rows):
        results = mc.wait_for_request(mc.insert_rows_async(de_key, chunk), rows=len(chunk))
        if len(results) != len(chunk) and not all(r.ok for r in results):
            log.warning(
                "DE %s: insert results do not line up with its %d rows; they are upserted and "
                "not counted as created here (mirror removal will keep them)", de_key, len(chunk)
            )  # fmt: skip
            out += upsert_async(mc, de_key, chunk, Outcome("sent", owned=False))
            continue
        outcomes = _row_outcomes(results, len(chunk), Outcome("sent", owned=True))
        existing = [
            i for i, r in enumerate(results)
            if not r.ok and "duplicate" in f"{r.message} {r.error_code}".lower()
        ] if len(results) == len(chunk) else []  # fmt: skip
        if existing:
            again = upsert_async(
                mc, de_key, [chunk[i] for i in existing], Outcome("sent", owned=False)
            )
            for i, o in zip(existing, again, strict=True):
                outcomes[i] = o
        out += outcomes
    return out


def key_values(row: PlanRow, primary_key: Sequence[str]) -> dict[str, Any]:
    """The DE primary key from the plan key (JSON {"k0": v0, ...})."""
    parsed = json.loads(row["_cdp_key"])
    return {name: parsed[f"k{i}"] for i, name in enumerate(primary_key)}


def delete(
    mc: MarketingCloudClient, de_key: str, primary_key: Sequence[str], rows: Sequence[PlanRow]
) -> list[Outcome]:
    out = []
    for row in rows:
        try:  # one call per row: the API deletes by key, and we want per-row outcomes
            mc.delete_rows(de_key, [key_values(row, primary_key)])
            out.append(Outcome("removed"))
        except TerminalError as err:
            out.append(Outcome("failed", type(err).__name__, str(err)))
    return out


def flag(
    mc: MarketingCloudClient,
    de_key: str,
    primary_key: Sequence[str],
    rows: Sequence[PlanRow],
    batching: Batching,
    flag_field: str,
    exited_at_field: str | None,
    *,
    sync: bool,
) -> list[Outcome]:
    now = datetime.now(UTC)
    payload = []
    for row in rows:
        values: dict[str, Any] = key_values(row, primary_key) | {flag_field: False}
        if exited_at_field:
            values[exited_at_field] = now
        payload.append(values)
    return upsert(mc, de_key, primary_key, payload, batching, sync=sync, ok=Outcome("exited"))
