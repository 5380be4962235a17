"""Deciding what happens to each decidable start: fire, or record why not (pure Python).

The SQL hands over only the new, decidable starts of a run; a completed one is `completed`
(recorded, so it is never judged again). For the abandoned ones, this pass applies the rules
that need an order across candidates, deterministically:

1. candidates are taken in (start time, trigger, uid, start event key) order;
2. `deliver_after` = now, or the end of the trigger's quiet hours if now falls inside them;
3. `expired` if deliver_after is past start + expiry (never send a stale message);
4. `cooldown` if the same person already fired this trigger for a start within the cooldown
   (in either direction, so lookback reprocessing of an older start is suppressed too);
5. `capped` if the person already has `daily_cap` firings delivering on that local day;
6. otherwise `fire`.
Suppressed decisions are stored too: a start is decided once and never again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cdp.segments.durations import from_micros
from cdp.specs import zone
from cdp.triggers.spec import QuietHours, TriggerSettings, TriggerSpec

FIRE = "fire"
EXPIRED = "expired"
COOLDOWN = "cooldown"
CAPPED = "capped"
COMPLETED = "completed"


@dataclass(frozen=True)
class Candidate:
    trigger: str
    uid: str
    start_event_key: str
    start_us: int
    crm_record_id: str | None = None
    session_key: str | None = None
    cid: str | None = None
    completed: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, str, str, str]:
        return (self.start_us, self.trigger, self.uid, self.start_event_key)


@dataclass(frozen=True)
class Fired:
    """A firing already in `trigger_firings` (status fire) that later decisions must respect."""

    trigger: str
    uid: str
    start_us: int
    deliver_after: datetime


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    status: str
    deliver_after: datetime
    expires_at: datetime | None
    reason: str


def quiet_until(moment: datetime, quiet: QuietHours | None) -> datetime:
    """`moment`, or the end of the quiet period it falls in (as an aware UTC datetime)."""
    if quiet is None:
        return moment
    tz = zone(quiet.time_zone)
    local = moment.astimezone(tz)
    start, end = QuietHours.parse(quiet.start), QuietHours.parse(quiet.end)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (start <= clock or clock < end) if wraps else (start <= clock < end)
    if not inside:
        return moment
    end_day = local.date() + timedelta(days=1) if wraps and clock >= start else local.date()
    resume = datetime.combine(end_day, end, tz)
    return resume.astimezone(UTC)


def decide(
    candidates: Iterable[Candidate],
    fired: Iterable[Fired],
    specs: Mapping[str, TriggerSpec],
    settings: TriggerSettings,
    now: datetime,
) -> list[Decision]:
    cap_zone = zone(settings.time_zone)

    def local_day(moment: datetime) -> date:
        return moment.astimezone(cap_zone).date()

    # Indexes over firings (earlier runs + this pass), so the pass is linear in candidates.
    starts: dict[tuple[str, str], list[int]] = defaultdict(list)
    per_day: Counter[tuple[str, date]] = Counter()

    def remember(trigger: str, uid: str, start_us: int, deliver_after: datetime) -> None:
        starts[(trigger, uid)].append(start_us)
        per_day[(uid, local_day(deliver_after))] += 1

    for f in fired:
        remember(f.trigger, f.uid, f.start_us, f.deliver_after)

    decisions: list[Decision] = []
    for candidate in sorted(candidates, key=lambda c: c.order):
        spec = specs[candidate.trigger]
        start = from_micros(candidate.start_us)
        deliver_after = quiet_until(now, spec.quiet_hours)
        expires_at = start + spec.expiry.timedelta if spec.expiry else None
        day = local_day(deliver_after)
        completions = "/".join(e for c in spec.completion for e in c.event)
        status, reason = FIRE, f"no {completions} within {spec.wait}"
        if candidate.completed:
            status, reason = COMPLETED, f"{completions} within {spec.wait}"
        elif (
            expires_at is not None
            and deliver_after + settings.delivery_margin.timedelta >= expires_at
        ):
            status, reason = (
                EXPIRED,
                f"would be delivered at {deliver_after:%Y-%m-%d %H:%M}Z, past expiry {spec.expiry}",
            )
        elif spec.cooldown is not None and any(
            abs(other - candidate.start_us) < spec.cooldown.micros
            for other in starts[(candidate.trigger, candidate.uid)]
        ):
            status, reason = COOLDOWN, f"fired for this person within cooldown {spec.cooldown}"
        elif settings.daily_cap is not None and per_day[(candidate.uid, day)] >= settings.daily_cap:
            status, reason = CAPPED, f"daily cap {settings.daily_cap} reached for {day}"
        if status == FIRE:
            remember(candidate.trigger, candidate.uid, candidate.start_us, deliver_after)
        decisions.append(Decision(candidate, status, deliver_after, expires_at, reason))
    return decisions
