"""Running funnels: entries table, per-step statistics, drop-off audiences, a printable report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlglot import exp

from cdp.audiences.store import AudienceResult, write_membership
from cdp.backends.base import Backend
from cdp.funnels.compile import AS_OF, dropoff_select, entries_select, stats_select
from cdp.funnels.spec import FunnelSpec
from cdp.segments.clock import new_run_id, resolve_as_of
from cdp.segments.durations import from_micros

log = logging.getLogger(__name__)

STATS = "funnel_stats"
_STATS_SCRATCH = "funnel_stats__new"
ALL = "(all)"
_STATS_SCHEMA = pa.schema(
    [
        ("funnel", pa.string()),
        ("run_id", pa.string()),
        ("as_of", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("breakdown", pa.string()),
        ("step", pa.int64()),
        ("step_name", pa.string()),
        ("reached", pa.int64()),
        ("converted", pa.int64()),
        ("dropped", pa.int64()),
        ("median_seconds_to_next", pa.float64()),
    ]
)


def entries_table(spec: FunnelSpec) -> str:
    return f"funnel_entries__{spec.name}"


@dataclass(frozen=True)
class FunnelRow:
    day: date | None  # None: the whole period
    breakdown: str  # "mobile" (values of spec.breakdown joined by " / "), or "(all)"
    step: int
    step_name: str
    reached: int
    converted: int
    median_seconds_to_next: float | None

    @property
    def dropped(self) -> int:
        return self.reached - self.converted


@dataclass
class FunnelReport:
    name: str
    as_of: datetime
    run_id: str
    steps: list[str]
    rows: list[FunnelRow] = field(default_factory=list)
    dropoffs: list[AudienceResult] = field(default_factory=list)

    def select(self, *, day: date | None = None, breakdown: str = ALL) -> list[FunnelRow]:
        return sorted(
            (r for r in self.rows if r.day == day and r.breakdown == breakdown),
            key=lambda r: r.step,
        )

    @property
    def totals(self) -> list[FunnelRow]:
        return self.select()

    def table(self) -> str:
        """Whole period: overall, then per breakdown value."""
        header = f"{'segment':<16} {'step':<22} {'reached':>8} {'→next':>8} {'dropped':>8} {'conv%':>6} {'median→next':>12}"
        lines = [
            f"funnel {self.name} (as of {self.as_of:%Y-%m-%d %H:%M}Z)",
            header,
            "-" * len(header),
        ]
        segments = [
            ALL,
            *sorted({r.breakdown for r in self.rows if r.day is None and r.breakdown != ALL}),
        ]
        for segment in segments:
            for row in self.select(breakdown=segment):
                last = row.step == len(self.steps)
                rate = (
                    f"{100 * row.converted / row.reached:.1f}" if row.reached and not last else ""
                )
                median = _duration(row.median_seconds_to_next) if not last else ""
                lines.append(
                    f"{segment:<16} {f'{row.step}. {row.step_name}':<22} {row.reached:>8} "
                    f"{'' if last else row.converted:>8} {'' if last else row.dropped:>8} {rate:>6} {median:>12}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _stats(backend: Backend, spec: FunnelSpec, params: dict[str, Any]) -> list[FunnelRow]:
    table = entries_table(spec)
    rows: list[FunnelRow] = []
    # Per day and breakdown, per day, per breakdown, overall (medians do not add up, so each is queried).
    groupings = (
        [["day", *spec.breakdown], ["day"], list(spec.breakdown), []]
        if spec.breakdown
        else [["day"], []]
    )
    for by in groupings:
        for r in backend.query(stats_select(spec, table, by), params).to_pylist():
            values = (
                [r[b] for b in spec.breakdown] if spec.breakdown and spec.breakdown[0] in by else []
            )
            rows.append(
                FunnelRow(
                    day=r["day"] if "day" in by else None,
                    breakdown=" / ".join("(none)" if v is None else str(v) for v in values)
                    if values
                    else ALL,
                    step=int(r["step"]),
                    step_name=spec.steps[int(r["step"]) - 1].name,
                    reached=int(r["reached"]),
                    converted=int(r["converted"]),
                    median_seconds_to_next=r["median_seconds_to_next"],
                )
            )
    return rows


def _store(backend: Backend, report: FunnelReport) -> None:
    table = pa.Table.from_pylist(
        [
            {"funnel": report.name, "run_id": report.run_id, "as_of": report.as_of, "day": r.day,
             "breakdown": r.breakdown, "step": r.step, "step_name": r.step_name, "reached": r.reached,
             "converted": r.converted, "dropped": r.dropped, "median_seconds_to_next": r.median_seconds_to_next}
            for r in report.rows
        ],
        schema=_STATS_SCHEMA,
    )  # fmt: skip
    backend.load_arrow(_STATS_SCRATCH, table, mode="replace")
    if not backend.table_exists(STATS):
        backend.execute(f"CREATE TABLE {STATS} AS SELECT * FROM {_STATS_SCRATCH} WHERE FALSE")
    backend.atomic(
        [
            f"DELETE FROM {STATS} WHERE funnel = @funnel",
            f"INSERT INTO {STATS} SELECT * FROM {_STATS_SCRATCH}",
        ],
        {"funnel": report.name},
    )
    backend.execute(f"DROP TABLE IF EXISTS {_STATS_SCRATCH}")


def run_funnel(backend: Backend, spec: FunnelSpec, as_of: datetime | None = None) -> FunnelReport:
    as_of_us = resolve_as_of(backend, as_of)
    run_id = new_run_id(as_of_us)
    params: dict[str, Any] = {AS_OF: as_of_us}
    table = entries_table(spec)
    backend.execute(
        exp.Create(
            this=exp.to_table(table), kind="TABLE", replace=True, expression=entries_select(spec)
        ),
        params,
    )
    report = FunnelReport(
        name=spec.name,
        as_of=from_micros(as_of_us),
        run_id=run_id,
        steps=[s.name for s in spec.steps],
    )
    report.rows = _stats(backend, spec, params)
    _store(backend, report)
    if spec.dropoff is not None:
        chosen = spec.dropoff.steps or [s.name for s in spec.steps[:-1]]
        for k, step in enumerate(spec.steps, 1):
            if step.name in chosen:
                report.dropoffs.append(
                    write_membership(backend, spec.dropoff_audience(step.name), dropoff_select(spec, table, k),
                                     as_of_us=as_of_us, run_id=run_id, source=f"funnel:{spec.name}")
                )  # fmt: skip
    log.info("funnel %s: %d entries", spec.name, report.totals[0].reached if report.totals else 0)
    return report


def run_funnels(backend: Backend, specs: Any, as_of: datetime | None = None) -> list[FunnelReport]:
    """Run every funnel of `specs` (a `Specs` or a sequence of FunnelSpec) at one as_of."""
    funnels: Sequence[FunnelSpec] = getattr(specs, "funnels", specs)
    if not funnels:
        return []
    as_of_us = resolve_as_of(backend, as_of)
    return [run_funnel(backend, spec, from_micros(as_of_us)) for spec in funnels]
