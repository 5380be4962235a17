"""Pure-Python funnel entries: the oracle for the SQL's per-entry step times."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cdp.funnels.spec import FunnelSpec
from cdp.segments.reference import event_matches

Row = Mapping[str, Any]


def entries(
    spec: FunnelSpec, events: Iterable[Row], as_of_us: int
) -> dict[tuple[str, Any], list[int | None]]:
    """(person, day) -> [t1, ..., tn] (µs or None), like the SQL's entries table."""
    floor = as_of_us - spec.period.micros
    by_person: dict[str, list[Row]] = {}
    for e in events:
        if not floor <= e["event_timestamp"] <= as_of_us:
            continue
        if not spec.include_consent_denied and e.get("analytics_storage") == "No":
            continue
        if e.get("stitched_uid") is None and e.get("cid") is None:
            continue  # nobody's: consent denied, no UID
        person = e.get("stitched_uid") or f"cid:{e.get('cid')}"
        by_person.setdefault(person, []).append(e)
    out: dict[tuple[str, Any], list[int | None]] = {}
    for person, rows in by_person.items():
        rows.sort(key=lambda e: e["event_timestamp"])
        firsts: dict[Any, int] = {}
        for e in rows:
            if event_matches(spec.steps[0], e):
                firsts.setdefault(e["event_date"], e["event_timestamp"])
        starts = sorted(firsts.values())
        for day, t1 in firsts.items():
            # The window closes at the person's next entry (see `compile`).
            end = t1 + spec.window.micros
            next_entry = next((s for s in starts if s > t1), None)
            if next_entry is not None:
                end = min(end, next_entry - 1)
            times: list[int | None] = [t1]
            previous = t1
            for step in spec.steps[1:]:
                found = next(
                    (e["event_timestamp"] for e in rows
                     if event_matches(step, e) and previous <= e["event_timestamp"] <= end),
                    None,
                )  # fmt: skip
                times.append(found)
                if found is None:
                    times += [None] * (len(spec.steps) - len(times))
                    break
                previous = found
            out[(person, day)] = times
    return out
