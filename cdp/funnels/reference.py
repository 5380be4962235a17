"""Pure-Python funnel entries: the oracle for the SQL's per-entry step times.

Each step is one row, identified by (event_timestamp, event_key), and not the row of an earlier
step of the entry: the earliest by (timestamp, event_key) at or after the previous step's time
(ties allowed), as in `compile`.
"""

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
        rows.sort(key=_row_id)
        firsts: dict[Any, Row] = {}
        for e in rows:
            if event_matches(spec.steps[0], e):
                firsts.setdefault(e["event_date"], e)
        starts = sorted(f["event_timestamp"] for f in firsts.values())
        for day, first in firsts.items():
            t1 = first["event_timestamp"]
            # The window closes at the person's next entry (see `compile`).
            end = t1 + spec.window.micros
            next_entry = next((s for s in starts if s > t1), None)
            if next_entry is not None:
                end = min(end, next_entry - 1)
            times: list[int | None] = [t1]
            used = {_row_id(first)}
            previous = t1
            for step in spec.steps[1:]:
                # `rows` is in (timestamp, event_key) order: the first eligible row is the step's.
                found = next(
                    (e for e in rows
                     if event_matches(step, e) and previous <= e["event_timestamp"] <= end
                     and _row_id(e) not in used),
                    None,
                )  # fmt: skip
                if found is None:
                    times += [None] * (len(spec.steps) - len(times))
                    break
                times.append(found["event_timestamp"])
                used.add(_row_id(found))
                previous = found["event_timestamp"]
            out[(person, day)] = times
    return out


def _row_id(e: Row) -> tuple[int, Any]:
    """An event's identity, and the order steps are matched in: (timestamp, event_key)."""
    return (e["event_timestamp"], e["event_key"])
