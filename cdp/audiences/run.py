"""Running audiences: evaluate, store the membership snapshot, report; and dry previews."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlglot import exp

from cdp.audiences.compile import AS_OF, evaluate_select, members_select
from cdp.audiences.spec import AudienceSpec
from cdp.audiences.store import MEMBERS, AudienceResult, ensure_tables, write_membership
from cdp.backends.base import Backend
from cdp.segments.clock import new_run_id, resolve_as_of
from cdp.segments.durations import from_micros
from cdp.segments.sqlbits import col, lit, param

log = logging.getLogger(__name__)


def run_audience(
    backend: Backend, spec: AudienceSpec, as_of: datetime | None = None
) -> AudienceResult:
    as_of_us = resolve_as_of(backend, as_of)
    result = write_membership(
        backend,
        spec.name,
        evaluate_select(spec),
        as_of_us=as_of_us,
        run_id=new_run_id(as_of_us),
        source="audience",
    )
    log.info("audience %s: %d members (%d holdout), +%d -%d", spec.name, result.members,
             result.holdout, result.entered, result.exited)  # fmt: skip
    return result


def run_audiences(
    backend: Backend, specs: Any, as_of: datetime | None = None
) -> list[AudienceResult]:
    """Run every audience of `specs` (a `Specs` or a sequence of AudienceSpec) at one as_of."""
    audiences: Sequence[AudienceSpec] = getattr(specs, "audiences", specs)
    if not audiences:
        return []
    as_of_us = resolve_as_of(backend, as_of)
    return [run_audience(backend, spec, from_micros(as_of_us)) for spec in audiences]


@dataclass
class AudiencePreview:
    name: str
    as_of: datetime
    size: int
    holdout: int
    entered: int
    exited: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    bytes_scanned: int | None = None

    def __str__(self) -> str:
        lines = [
            f"audience {self.name} as of {self.as_of:%Y-%m-%d %H:%M:%S}Z: {self.size} members "
            f"({self.holdout} holdout), +{self.entered} / -{self.exited} vs current membership"
        ]
        if self.bytes_scanned is not None:
            lines.append(f"  would scan {self.bytes_scanned:,} bytes")
        lines += [f"  {m['uid']} ({m['crm_record_id']}): {m['reason']}" for m in self.sample]
        return "\n".join(lines)


def preview_audience(
    backend: Backend, spec: AudienceSpec, as_of: datetime | None = None, sample: int = 10
) -> AudiencePreview:
    """Size, change since the last run, sample members with reasons; nothing is written."""
    ensure_tables(backend)
    as_of_us = resolve_as_of(backend, as_of)
    params = {AS_OF: as_of_us, "audience": spec.name}
    evaluated = evaluate_select(spec)
    current = (
        exp.select("uid")
        .from_(MEMBERS)
        .where(exp.EQ(this=col("audience"), expression=param("audience")))
    )
    counts = (
        exp.select(
            exp.alias_(exp.CountIf(this=col("qualifies", "e")), "size"),
            exp.alias_(exp.CountIf(this=exp.and_(col("qualifies", "e"), col("is_holdout", "e"))), "holdout"),
            exp.alias_(exp.CountIf(this=exp.and_(col("qualifies", "e"), exp.Is(this=col("uid", "c"), expression=exp.Null()))), "entered"),
            exp.alias_(exp.CountIf(this=exp.and_(exp.Not(this=exp.Is(this=col("uid", "c"), expression=exp.Null())),
                                                  exp.Not(this=exp.Coalesce(this=col("qualifies", "e"), expressions=[exp.false()])))), "exited"),
        )
        .from_(exp.alias_(evaluated.subquery(), "e"))
        .join(exp.alias_(current.subquery(), "c"), on=exp.EQ(this=col("uid", "c"), expression=col("uid", "e")), join_type="FULL OUTER")
    )  # fmt: skip
    row = backend.query(counts, params).to_pylist()[0]
    members = members_select(spec)
    sampled = (
        exp.select(
            "uid", "crm_record_id", "qualifying_events", "last_event_at", "is_holdout", "reason"
        )
        .from_(exp.alias_(members.subquery(), "m"))
        .order_by(exp.Ordered(this=col("last_event_at"), desc=True, nulls_first=False), col("uid"))
        .limit(lit(sample))
    )
    preview = AudiencePreview(
        name=spec.name,
        as_of=from_micros(as_of_us),
        size=int(row["size"] or 0),
        holdout=int(row["holdout"] or 0),
        entered=int(row["entered"] or 0),
        exited=int(row["exited"] or 0),
        sample=backend.query(sampled, params).to_pylist(),
    )
    if backend.reports_bytes_scanned:
        preview.bytes_scanned = backend.dry_run_bytes(evaluated, params)
    return preview
