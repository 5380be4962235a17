"""A small pure-Python evaluator of audience specs: the oracle the SQL is property-tested against.

Deliberately naive (loops over rows, no shared code with the compiler beyond the spec models)
so that agreement between the two means something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from cdp.audiences.spec import AudienceSpec, Condition
from cdp.segments.reference import event_matches, param_matches

Row = Mapping[str, Any]


def in_holdout(uid: str, audience: str, percent: float) -> bool:
    if percent <= 0:
        return False
    digest = hashlib.md5(f"{uid}|{audience}".encode()).hexdigest()
    return int(digest[:4], 16) < round(percent / 100 * 16**4)


def _in_population(spec: AudienceSpec, profile: Row) -> bool:
    population = spec.population
    if profile.get("uid") is None:
        return False
    if not population.include_opted_out and profile.get("opted_out"):
        return False
    if population.require_crm_match and not profile.get("crm_matched"):
        return False
    return all(param_matches(f, profile.get(f.param)) for f in population.crm)


def _holds(node: Condition, events: list[Row], profile: Row, as_of_us: int) -> bool:
    if node.all_ is not None:
        return all(_holds(c, events, profile, as_of_us) for c in node.all_)
    if node.any_ is not None:
        return any(_holds(c, events, profile, as_of_us) for c in node.any_)
    if node.not_ is not None:
        return not _holds(node.not_, events, profile, as_of_us)
    if node.events is not None:
        leaf = node.events
        lo, hi = leaf.window.bounds(as_of_us) if leaf.window else (None, as_of_us)
        count = sum(
            1
            for e in events
            if event_matches(leaf, e)
            and (lo is None or e["event_timestamp"] >= lo)
            and e["event_timestamp"] <= hi
        )
        low, high = leaf.count.bounds()
        return count >= low and (high is None or count <= high)
    if node.last_event is not None:
        recency = node.last_event
        times = [e["event_timestamp"] for e in events if event_matches(recency, e)]
        if not times:
            return False
        last = max(times)
        if recency.within is not None and last < as_of_us - recency.within.micros:
            return False
        return not (recency.older_than is not None and last >= as_of_us - recency.older_than.micros)
    if node.user_property is not None:
        column = node.user_property.param
        valued = [e for e in events if e.get(column) is not None]
        if not valued:
            return False
        latest = max(valued, key=lambda e: e["event_timestamp"])
        return param_matches(node.user_property, latest[column])
    assert node.crm is not None
    return param_matches(node.crm, profile.get(node.crm.param))


def evaluate(
    spec: AudienceSpec, events: Iterable[Row], profiles: Iterable[Row], as_of_us: int
) -> dict[str, bool]:
    """uid -> is_holdout, for every member of the audience at `as_of_us`."""
    by_person: dict[str, list[Row]] = {}
    for event in events:
        uid = event.get("stitched_uid")
        if uid is None or event["event_timestamp"] > as_of_us:
            continue
        if not spec.population.include_consent_denied and event.get("analytics_storage") == "No":
            continue
        by_person.setdefault(uid, []).append(event)
    members: dict[str, bool] = {}
    for profile in profiles:
        if not _in_population(spec, profile):
            continue
        uid = str(profile["uid"])
        if _holds(spec.condition, by_person.get(uid, []), profile, as_of_us):
            members[uid] = in_holdout(uid, spec.name, spec.holdout_percent)
    return members
