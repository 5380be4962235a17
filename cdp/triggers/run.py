"""Detecting trigger occurrences and recording each decision once.

- `trigger_decisions`: every decided start (fire, cooldown, capped, expired, completed), keyed
  (trigger, start_event_key); a key in here is never decided again, even if identity later
  attributes the start to another person (the row keeps the uid it was decided for).
- `trigger_firings`: only the `fire` decisions, what delivery reads (rows whose `deliver_after`
  has passed and whose `expires_at` has not), with each trigger's `context` columns as STRING
  columns (added on first use) and as one JSON `context` column.

Re-running, or reprocessing a lookback window, inserts only keys not yet decided, so nothing
ever fires twice for the same (trigger, start event).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.segments.clock import latest_event_us, new_run_id
from cdp.segments.durations import from_micros, to_micros
from cdp.triggers.compile import DECISIONS, FIRINGS, candidates_select
from cdp.triggers.schedule import FIRE, Candidate, Decision, Fired, decide, quiet_until
from cdp.triggers.spec import QuietHours, TriggerSettings, TriggerSpec

log = logging.getLogger(__name__)

_SCRATCH = "trigger_firings__new"  # + the run id: two overlapping runs never share it
_COLUMNS = [
    ("trigger", pa.string(), "STRING"),
    ("uid", pa.string(), "STRING"),
    ("start_event_key", pa.string(), "STRING"),
    ("crm_record_id", pa.string(), "STRING"),
    ("start_event_timestamp", pa.int64(), "INT64"),
    ("start_ts", pa.timestamp("us", tz="UTC"), "TIMESTAMP"),
    ("session_key", pa.string(), "STRING"),
    ("cid", pa.string(), "STRING"),
    ("status", pa.string(), "STRING"),
    ("reason", pa.string(), "STRING"),
    ("fired_at", pa.timestamp("us", tz="UTC"), "TIMESTAMP"),
    ("deliver_after", pa.timestamp("us", tz="UTC"), "TIMESTAMP"),
    ("expires_at", pa.timestamp("us", tz="UTC"), "TIMESTAMP"),
    ("run_id", pa.string(), "STRING"),
    ("context", pa.string(), "STRING"),
    # The trigger's quiet hours (JSON) when decided: delivery holds a due firing during them.
    ("quiet_hours", pa.string(), "STRING"),
]
_FIXED = {
    "trigger",
    "uid",
    "crm_record_id",
    "start_event_key",
    "start_event_timestamp",
    "session_key",
    "cid",
    "completed",
}
RESERVED = {name for name, _, _ in _COLUMNS} | {"completed"}


def _ddl(table: str) -> str:
    columns = ", ".join(f"`{name}` {sql_type}" for name, _, sql_type in _COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} ({columns}) CLUSTER BY `trigger`, uid"


@dataclass
class TriggerReport:
    now: datetime
    watermark: datetime | None
    run_id: str
    decisions: list[Decision] = field(default_factory=list)

    @property
    def firings(self) -> list[Decision]:
        return [d for d in self.decisions if d.status == FIRE]

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(Counter((d.candidate.trigger, d.status) for d in self.decisions))

    def __str__(self) -> str:
        if self.watermark is None:
            return "triggers: no events yet"
        lines = [
            f"triggers decided through {self.watermark:%Y-%m-%d %H:%M:%S}Z (run {self.run_id})"
        ]
        lines += [
            f"  {trigger}: {status} {n}" for (trigger, status), n in sorted(self.counts().items())
        ] or ["  no start newly decidable"]
        return "\n".join(lines)


def ensure_tables(backend: Backend, context_columns: Sequence[str] = ()) -> None:
    # `quiet_hours` for tables made before it existed; context columns vary by trigger: one
    # STRING column each, added on first use.
    for table, wanted in ((DECISIONS, ["quiet_hours"]),
                          (FIRINGS, ["quiet_hours", *context_columns])):  # fmt: skip
        backend.execute(_ddl(table))
        present = set(backend.column_names(table))
        for column in dict.fromkeys(c for c in wanted if c not in present):
            backend.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS `{column}` STRING")


def _context_columns(triggers: Sequence[TriggerSpec]) -> list[str]:
    return [c for spec in triggers for c in spec.context if c not in RESERVED]


def _candidates(backend: Backend, spec: TriggerSpec, params: dict[str, Any]) -> list[Candidate]:
    rows = backend.query(candidates_select(spec), params).to_pylist()
    return [
        Candidate(
            trigger=row["trigger"],
            uid=row["uid"],
            start_event_key=row["start_event_key"],
            start_us=int(row["start_event_timestamp"]),
            crm_record_id=row["crm_record_id"],
            session_key=row["session_key"],
            cid=row["cid"],
            completed=bool(row["completed"]),
            context={k: v for k, v in row.items() if k not in _FIXED},
        )
        for row in rows
    ]


def _fired(
    backend: Backend, candidates: list[Candidate], specs: Sequence[TriggerSpec]
) -> list[Fired]:
    """Earlier firings that cooldown or the daily cap must count (only the candidates' people)."""
    if not candidates:
        return []
    longest = max([s.cooldown.micros for s in specs if s.cooldown] + [0])
    from_us = min(c.start_us for c in candidates) - longest - 2 * 86_400_000_000
    rows = backend.query(
        f"""SELECT `trigger`, uid, start_event_timestamp, deliver_after FROM {FIRINGS}
            WHERE status = 'fire' AND uid IN UNNEST(@uids)
              AND (start_event_timestamp >= @from_us OR deliver_after >= TIMESTAMP_MICROS(@from_us))""",
        {"uids": sorted({c.uid for c in candidates}), "from_us": from_us},
    ).to_pylist()
    return [
        Fired(r["trigger"], r["uid"], int(r["start_event_timestamp"]), _utc(r["deliver_after"]))
        for r in rows
    ]


def _string(value: Any) -> str | None:
    return None if value is None else str(value)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def held_triggers(backend: Backend, triggers: Sequence[str], now: datetime) -> list[str]:
    """Those of `triggers` whose quiet hours (as their firings recorded them) hold delivery at
    `now`. A firing's `deliver_after` is set once, when it is decided; one delivered late (a
    failed journey batch retried next run, a run crossing into quiet hours) must wait too."""
    if not triggers or not backend.table_exists(FIRINGS):
        return []
    if "quiet_hours" not in backend.column_names(FIRINGS):
        return []
    now = _utc(now)  # a naive `now` is UTC, as everywhere in delivery
    rows = backend.query(
        f"SELECT DISTINCT `trigger`, quiet_hours FROM {FIRINGS} "
        "WHERE `trigger` IN UNNEST(@triggers) AND quiet_hours IS NOT NULL",
        {"triggers": list(triggers)},
    ).to_pylist()
    return sorted({
        r["trigger"] for r in rows
        if quiet_until(now, QuietHours.model_validate_json(r["quiet_hours"])) > now
    })  # fmt: skip


def _record(
    backend: Backend,
    decisions: list[Decision],
    now: datetime,
    run_id: str,
    context_columns: list[str],
    specs: dict[str, TriggerSpec],
) -> None:
    if not decisions:
        return

    def quiet(trigger: str) -> str | None:
        hours = specs[trigger].quiet_hours
        return hours.model_dump_json() if hours is not None else None

    rows = [
        {
            **{c: _string(d.candidate.context.get(c)) for c in context_columns},
            "trigger": d.candidate.trigger,
            "uid": d.candidate.uid,
            "start_event_key": d.candidate.start_event_key,
            "crm_record_id": d.candidate.crm_record_id,
            "start_event_timestamp": d.candidate.start_us,
            "start_ts": from_micros(d.candidate.start_us),
            "session_key": d.candidate.session_key,
            "cid": d.candidate.cid,
            "status": d.status,
            "reason": d.reason,
            "fired_at": now,
            "deliver_after": d.deliver_after,
            "expires_at": d.expires_at,
            "run_id": run_id,
            "context": json.dumps(dict(d.candidate.context), default=str, sort_keys=True),
            "quiet_hours": quiet(d.candidate.trigger),
        }
        for d in decisions
    ]
    schema = pa.schema(
        [(name, arrow_type) for name, arrow_type, _ in _COLUMNS]
        + [(c, pa.string()) for c in context_columns]
    )
    scratch = f"{_SCRATCH}_{run_id.replace('-', '_')}"
    backend.load_arrow(scratch, pa.Table.from_pylist(rows, schema=schema), mode="replace")
    fixed = ", ".join(f"`{name}`" for name, _, _ in _COLUMNS)
    everything = ", ".join([fixed, *(f"`{c}`" for c in context_columns)])

    def new_keys(table: str) -> str:  # no uid: see the module docstring
        return (
            f"NOT EXISTS (SELECT 1 FROM {table} AS f WHERE f.`trigger` = n.`trigger` "
            "AND f.start_event_key = n.start_event_key)"
        )

    # Insert only keys not decided yet: safe even if two runs overlap.
    try:
        backend.atomic(
            [
                f"INSERT INTO {DECISIONS} ({fixed}) SELECT {fixed} FROM {scratch} AS n "
                f"WHERE {new_keys(DECISIONS)}",
                f"INSERT INTO {FIRINGS} ({everything}) SELECT {everything} FROM {scratch} AS n "
                f"WHERE n.status = '{FIRE}' AND {new_keys(FIRINGS)}",
            ]
        )
    finally:
        backend.execute(f"DROP TABLE IF EXISTS {scratch}")


def detect_triggers(
    backend: Backend,
    specs: Any,
    now: datetime | None = None,
    settings: TriggerSettings | None = None,
    *,
    record: bool = True,
) -> TriggerReport:
    """Decide every decidable start of every trigger in `specs` (a `Specs` or a TriggerSpec list).

    `record=False` (a dry run) reports the decisions without storing them: a stored decision is
    final, so a dry run with a draft spec would otherwise decide its starts for good."""
    triggers: Sequence[TriggerSpec] = getattr(specs, "triggers", specs)
    settings = settings or getattr(specs, "trigger_settings", None) or TriggerSettings()
    now = _utc(now) if now is not None else datetime.now(UTC)
    context_columns = _context_columns(triggers)
    ensure_tables(backend, context_columns)
    # The data is complete up to its latest event, but never beyond `now` (see segments.clock).
    latest = latest_event_us(backend, not_after=now)
    run_id = new_run_id(to_micros(now))
    if latest is None or not triggers:
        return TriggerReport(now=now, watermark=None, run_id=run_id)
    watermark_us = latest - settings.safety_lag.micros
    # A start is decidable once `wait` has passed; `lookback` then runs from there, so a trigger
    # whose wait is as long as the lookback still has its full lookback of catching up.
    candidates = [
        c
        for spec in triggers
        for c in _candidates(backend, spec, {
            "watermark_us": watermark_us,
            "since_us": watermark_us - spec.wait.micros - settings.lookback.micros,
        })
    ]  # fmt: skip
    by_name = {s.name: s for s in triggers}
    decisions = decide(candidates, _fired(backend, candidates, triggers), by_name, settings, now)
    if record:
        _record(backend, decisions, now, run_id, list(dict.fromkeys(context_columns)), by_name)
    report = TriggerReport(
        now=now, watermark=from_micros(watermark_us), run_id=run_id, decisions=decisions
    )
    log.info("%s", report)
    return report


def next_due(backend: Backend, after: datetime) -> datetime | None:
    """When the next firing waiting past `after` (in quiet hours) becomes due, if any: the
    moment a scheduled run would hand it to delivery."""
    if not backend.table_exists(FIRINGS):
        return None
    due = backend.scalar(
        f"SELECT MIN(deliver_after) FROM {FIRINGS} WHERE deliver_after > @after",
        {"after": _utc(after)},
    )
    return _utc(due) if isinstance(due, datetime) else None
