"""`deliver`: for each destination, diff in the warehouse, send in bounded batches, record
every row's outcome. `plan_delivery`: the same diff, counted and sampled, nothing sent.

Row failures never raise: they are reported, retried on later runs and dead-lettered after
`max_attempts`. A request-level failure (after the client's own retries) stops that
destination for this run; its rows stay in the diff for the next run (a terminal one counts
as a failed attempt of each of its rows, a transient one does not). `TransientError` is
raised only when every destination with work was stopped that way before sending anything
(the whole run is worth retrying, e.g. Salesforce is down).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.delivery import preflight, send_campaign, send_de, send_journey
from cdp.delivery import tables as t
from cdp.delivery.clients import Clients
from cdp.delivery.config import (
    CampaignDestination,
    DataExtensionDestination,
    Destination,
    Destinations,
    JourneyDestination,
)
from cdp.delivery.diff import PlanQuery
from cdp.delivery.payload import payloads, rows_meta
from cdp.delivery.state import Outcome, PlanRow, Recorder, Tally, mark_pending_uncertain
from cdp.delivery.targets import check_targets, record_targets
from cdp.errors import CdpError, DeliveryError, TerminalError, TransientError
from cdp.salesforce.secrets import redact
from cdp.triggers.run import held_triggers

log = logging.getLogger("cdp.delivery")
OPS = ("add", "update", "remove")


@dataclass
class DeliveryPlan:
    destination: str
    type: str
    adds: int = 0
    updates: int = 0
    removes: int = 0
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.adds + self.updates + self.removes


@dataclass
class DestinationReport:
    destination: str
    type: str
    adds: int = 0
    updates: int = 0
    removes: int = 0
    sent: int = 0
    removed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    uncertain: int = 0
    retry_later: int = 0
    skipped: int = 0
    error: str | None = None  # why the destination stopped early, if it did
    transient: bool = False
    seconds: float = 0.0
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def count(self, tally: Tally) -> None:
        self.sent += tally.sent
        self.removed += tally.removed
        self.failed += tally.failed
        self.dead_lettered += tally.dead
        self.uncertain += tally.uncertain
        self.retry_later += tally.retry
        self.skipped += tally.skipped


@dataclass
class DeliveryReport:
    run_id: str
    dry_run: bool
    destinations: list[DestinationReport] = field(default_factory=list)

    def __getitem__(self, name: str) -> DestinationReport:
        return next(d for d in self.destinations if d.destination == name)

    @property
    def ok(self) -> bool:
        return all(d.error is None and not d.failed and not d.uncertain for d in self.destinations)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_if_stopped(self) -> None:
        """A DeliveryError when a destination stopped on a terminal error (a refused request,
        not rows): what the run did is recorded, but the run must not look fine. Rows failing
        one by one are reported, and retried or dead-lettered, without failing the run."""
        stopped = [d for d in self.destinations if d.error is not None and not d.transient]
        if stopped:
            raise DeliveryError(
                f"delivery run {self.run_id}: "
                + "; ".join(f"{d.destination} stopped: {d.error}" for d in stopped),
                sent=sum(d.sent for d in self.destinations),
                failed=sum(d.failed for d in self.destinations),
            )


def _plan_params(backend: Backend, destination: Destination, now: datetime) -> dict[str, Any]:
    triggers = destination.source.triggers
    if triggers is None:
        return {"now": now}
    return {"now": now, "held_triggers": held_triggers(backend, triggers, now)}


def _plan_table(backend: Backend, query: PlanQuery, params: dict[str, Any]) -> dict[str, int]:
    backend.execute(f"CREATE OR REPLACE TABLE {t.PLAN} AS {query.sql}", params)
    counts = backend.query(f"SELECT _cdp_op AS op, COUNT(*) AS n FROM {t.PLAN} GROUP BY _cdp_op")
    return {r["op"]: int(r["n"]) for r in counts.to_pylist()}


def _samples(table: pa.Table, query: PlanQuery, n: int) -> dict[str, list[dict[str, Any]]]:
    meta, data = rows_meta(table), payloads(table, query.fields)
    out: dict[str, list[dict[str, Any]]] = {}
    for row, payload in zip(meta, data, strict=True):
        bucket = out.setdefault(row["_cdp_op"], [])
        if len(bucket) < n:
            bucket.append(
                {"key": row["_cdp_key"]} | (payload if row["_cdp_op"] != "remove" else {})
            )
    return out


def plan_delivery(
    backend: Backend, destination: Destination, *, now: datetime | None = None, sample: int = 5
) -> DeliveryPlan:
    """The diff for one destination: counts per operation and a few sample rows."""
    t.ensure_tables(backend)
    query = preflight.local(backend, destination)
    sql = (
        f"SELECT * FROM ({query.sql}) AS plan WHERE TRUE "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY _cdp_op ORDER BY _cdp_seq) <= {int(sample)}"
    )
    params = _plan_params(backend, destination, now or datetime.now(UTC))
    counts = backend.query(
        f"SELECT _cdp_op AS op, COUNT(*) AS n FROM ({query.sql}) AS plan GROUP BY _cdp_op", params
    )
    by_op = {r["op"]: int(r["n"]) for r in counts.to_pylist()}
    return DeliveryPlan(
        destination.name, destination.type, by_op.get("add", 0), by_op.get("update", 0),
        by_op.get("remove", 0), _samples(backend.query(sql, params), query, sample),
    )  # fmt: skip


def deliver(
    backend: Backend,
    destinations: Destinations,
    clients: Clients,
    *,
    run_id: str,
    dry_run: bool = False,
    now: datetime | None = None,
    only: Sequence[str] | None = None,
) -> DeliveryReport:
    """Deliver every destination (or those named in `only`). Config problems raise one
    ConfigError before anything is sent; row failures are reported, not raised."""
    now = now or datetime.now(UTC)
    targets = [d for d in destinations.destinations if only is None or d.name in only]
    report = DeliveryReport(run_id, dry_run)
    t.ensure_tables(backend)
    queries = {d.name: preflight.local(backend, d) for d in targets}  # all checked before sending
    new_targets = check_targets(backend, destinations.destinations, targets)
    if dry_run:
        for d in targets:
            plan = plan_delivery(backend, d, now=now)
            report.destinations.append(
                DestinationReport(
                    d.name, d.type, plan.adds, plan.updates, plan.removes, samples=plan.samples
                )
            )
        return report
    preflight.credentials(clients.mc.settings, targets)
    for d in targets:
        preflight.remote(clients, d)
    record_targets(backend, new_targets, now)
    for d in targets:
        started = time.perf_counter()
        dest_report = _deliver_one(backend, d, queries[d.name], clients, destinations, run_id, now)
        dest_report.seconds = round(time.perf_counter() - started, 3)
        report.destinations.append(dest_report)
        log.info(
            "delivery %s: +%d ~%d -%d -> sent %d, removed %d, failed %d, dead %d, uncertain %d%s",
            d.name, dest_report.adds, dest_report.updates, dest_report.removes, dest_report.sent,
            dest_report.removed, dest_report.failed, dest_report.dead_lettered, dest_report.uncertain,
            f" (stopped: {dest_report.error})" if dest_report.error else "",
        )  # fmt: skip
    busy = [d for d in report.destinations if d.adds + d.updates + d.removes]
    if busy and all(d.transient and not (d.sent or d.removed) for d in busy):
        raise TransientError(
            f"delivery run {run_id}: every destination failed transiently: {busy[0].error}"
        )
    return report


def _request_failed(err: TransientError | TerminalError) -> Outcome:
    """Each row's outcome when its whole request failed: a terminal error would recur, so it
    counts as an attempt (the rows dead-letter after `max_attempts`); a transient one does not."""
    return Outcome(
        "retry" if isinstance(err, TransientError) else "failed", type(err).__name__, redact(err)
    )


@dataclass
class _Run:
    backend: Backend
    dest: Destination
    query: PlanQuery
    clients: Clients
    cfg: Destinations
    recorder: Recorder
    report: DestinationReport

    def read(self, lo: int, hi: int) -> pa.Table:
        return self.backend.query(
            f"SELECT * FROM {t.PLAN} WHERE _cdp_seq BETWEEN @lo AND @hi ORDER BY _cdp_seq",
            {"lo": lo, "hi": hi},
        )

    def each_chunk(self, lo: int, hi: int, size: int, handle: Callable[[pa.Table], None]) -> bool:
        """Feed plan rows lo..hi to `handle` in chunks; False once the destination stopped."""
        for start in range(lo, hi + 1, size):
            table = self.read(start, min(hi, start + size - 1))
            try:
                handle(table)
            except (TransientError, TerminalError) as err:
                rows = rows_meta(table)
                self.report.count(self.recorder.apply(rows, [_request_failed(err)] * len(rows)))
                return self.stop(err)
        return True

    def stop(self, err: Exception) -> bool:
        self.report.error = redact(err)
        self.report.transient = isinstance(err, TransientError)
        return False

    def record(
        self,
        rows: Sequence[PlanRow],
        outcomes: Sequence[Outcome],
        data: Sequence[Any] | None = None,
    ) -> None:
        self.report.count(self.recorder.apply(rows, outcomes, data))


def _deliver_one(
    backend: Backend,
    dest: Destination,
    query: PlanQuery,
    clients: Clients,
    cfg: Destinations,
    run_id: str,
    now: datetime,
) -> DestinationReport:
    journey = isinstance(dest, JourneyDestination)
    report = DestinationReport(dest.name, dest.type)
    recorder = Recorder(backend, dest.name, run_id, cfg.max_attempts, journey=journey)
    if journey:
        report.uncertain += mark_pending_uncertain(backend, dest.name, run_id)
    counts = _plan_table(backend, query, _plan_params(backend, dest, now))
    report.adds, report.updates, report.removes = (counts.get(op, 0) for op in OPS)
    run = _Run(backend, dest, query, clients, cfg, recorder, report)
    removes, total = report.removes, sum(counts.values())
    upserts = total - removes
    try:
        if isinstance(dest, DataExtensionDestination):
            _data_extension(run, dest, removes, upserts)
        elif isinstance(dest, CampaignDestination):
            _campaign(run, dest, removes, upserts)
        else:
            assert isinstance(dest, JourneyDestination)
            _journey(run, dest, upserts)
    except CdpError as err:  # e.g. the warehouse: stop this destination, keep the others going
        if not isinstance(err, TransientError | TerminalError):
            raise
        run.stop(err)
    return report


def _data_extension(run: _Run, dest: DataExtensionDestination, removes: int, upserts: int) -> None:
    mc, batching = run.clients.mc, run.cfg.batching
    sync_removes = removes <= batching.sync_max_rows

    def remove(table: pa.Table) -> None:
        rows = rows_meta(table)
        if dest.removal == "delete":
            run.record(rows, send_de.delete(mc, dest.de_key, dest.primary_key, rows))
            return
        keep = (lambda r: r["_cdp_first_sent_at"] is not None) if dest.removal == "flag" else (
            lambda r: bool(r["_cdp_owned"]))  # fmt: skip
        todo = [r for r in rows if keep(r)]
        if dest.removal == "flag":
            done = send_de.flag(mc, dest.de_key, dest.primary_key, todo, batching,
                                dest.flag_field, dest.exited_at_field, sync=sync_removes)  # fmt: skip
        else:  # mirror: only rows this product created are deleted
            done = send_de.delete(mc, dest.de_key, dest.primary_key, todo)
        results = iter(done)
        run.record(rows, [next(results) if keep(r) else Outcome("skipped") for r in rows])

    def upsert(table: pa.Table) -> None:
        rows, data = rows_meta(table), payloads(table, run.query.fields)
        if dest.removal != "mirror":
            out = send_de.upsert(mc, dest.de_key, dest.primary_key, data, batching,
                                 sync=upserts <= batching.sync_max_rows)  # fmt: skip
        else:
            adds = [i for i, r in enumerate(rows) if r["_cdp_op"] == "add"]
            updates = [i for i, r in enumerate(rows) if r["_cdp_op"] != "add"]
            out_by: dict[int, Outcome] = {}
            if adds:
                out_by |= dict(
                    zip(
                        adds,
                        send_de.insert_owned(mc, dest.de_key, [data[i] for i in adds], batching),
                        strict=True,
                    )
                )
            if updates:
                sent = send_de.upsert(
                    mc,
                    dest.de_key,
                    dest.primary_key,
                    [data[i] for i in updates],
                    batching,
                    sync=False,
                )
                out_by |= dict(zip(updates, sent, strict=True))
            out = [out_by[i] for i in range(len(rows))]
        run.record(rows, out, data)

    if removes and not run.each_chunk(1, removes, 1000, remove):
        return
    if upserts:
        run.each_chunk(removes + 1, removes + upserts, batching.async_max_rows, upsert)


def _campaign(run: _Run, dest: CampaignDestination, removes: int, upserts: int) -> None:
    sales, limit = run.clients.sales, run.cfg.batching.collection_max

    def remove(table: pa.Table) -> None:
        rows = rows_meta(table)
        run.record(rows, send_campaign.delete(sales, rows, bulk=removes > limit))

    def upsert(table: pa.Table) -> None:
        rows, data = rows_meta(table), payloads(table, run.query.fields)
        # A re-added member's old record Id is stale: it was deleted when the member left.
        exists = [r["_cdp_op"] != "add" and bool(r.get("_cdp_remote_id")) for r in rows]
        out = send_campaign.upsert(sales, dest, data, exists, bulk=upserts > limit)
        run.record(rows, out, data)

    if removes and not run.each_chunk(1, removes, 10_000, remove):
        return
    if upserts:
        run.each_chunk(removes + 1, removes + upserts, 10_000 if upserts > limit else limit, upsert)


def _journey(run: _Run, dest: JourneyDestination, adds: int) -> None:
    batching = run.cfg.batching

    def pending(rows: Sequence[PlanRow]) -> None:
        run.record(rows, [Outcome("pending")] * len(rows))

    def fire(table: pa.Table) -> None:
        rows, data = rows_meta(table), payloads(table, run.query.fields)
        de_rows = payloads(table, run.query.de_fields, "w")
        size = batching.journey_batch
        done = 0
        try:
            for start in range(0, len(rows), size):
                part = slice(start, start + size)
                outcomes = send_journey.fire_batch(
                    run.clients.mc, dest, rows[part], data[part], de_rows[part], batching, pending
                )
                run.record(rows[part], outcomes, data[part])
                done = start + size
        except send_journey._Aborted as aborted:
            # Record this batch's outcomes; rows of later batches were never touched.
            run.record(rows[done : done + len(aborted.outcomes)], aborted.outcomes)
            raise _Stop(aborted.cause) from aborted.cause
        except (TransientError, TerminalError) as err:
            part_rows = rows[done : done + size]
            run.record(part_rows, [_request_failed(err)] * len(part_rows))
            raise _Stop(err) from err

    try:
        run.each_chunk(1, adds, batching.journey_batch * 10, fire)
    except _Stop as stop:
        run.stop(stop.cause)


class _Stop(Exception):
    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause
