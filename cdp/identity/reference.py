"""A small pure-Python implementation of the identity rules: the oracle the SQL is tested against.

Written for clarity, not speed. It must agree with both SQL forms of the rules on every event:
the full rebuild's interval lookup (`intervals.stitched_full_select`, `intervals.map_rows`)
and the incremental run's per-event pass (`attribution.labels_select`, `intervals.map_select`);
see `attribution` for the rules in words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cdp.config import IdentitySettings
from cdp.identity import rules as r
from cdp.identity.rules import JunkFilter


@dataclass(frozen=True)
class Interval:
    cid: str
    uid: str
    interval_no: int
    valid_from: tuple[datetime, str]  # (event_ts, event_key): bounds are events, ties included
    valid_to: tuple[datetime, str] | None
    status: str


@dataclass
class Result:
    stitched: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # key -> (uid, label)
    links: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    n_cids: dict[str, int] = field(default_factory=dict)
    suspicious: set[str] = field(default_factory=set)
    n_uids: dict[str, int] = field(default_factory=dict)  # non-suspicious UIDs per CID
    shared: set[str] = field(default_factory=set)
    intervals: list[Interval] = field(default_factory=list)
    junk_events: int = 0


def stitch(events: Iterable[Mapping[str, Any]], settings: IdentitySettings) -> Result:
    """`events`: mappings with event_key, event_ts, cid, uid, session_key (stg_events rows)."""
    junk = JunkFilter(settings)
    res = Result()
    by_cid: dict[str, list[tuple[datetime, str, str | None]]] = defaultdict(list)
    consent: list[tuple[str, str | None]] = []
    sessions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in events:
        uid = junk.clean(e["uid"])
        if e["uid"] is not None and uid is None:
            res.junk_events += 1
        if e["cid"] is None:
            consent.append((e["event_key"], uid))
            continue
        by_cid[e["cid"]].append((e["event_ts"], e["event_key"], uid))
        if uid is not None:
            link = res.links.setdefault(
                (e["cid"], uid),
                {"first_seen": e["event_ts"], "last_seen": e["event_ts"], "events": 0},
            )
            link["first_seen"] = min(link["first_seen"], e["event_ts"])
            link["last_seen"] = max(link["last_seen"], e["event_ts"])
            link["events"] += 1
            if e.get("session_key") is not None:
                sessions[(e["cid"], uid)].add(e["session_key"])
    for pair, link in res.links.items():
        link["sessions"] = len(sessions[pair])

    for _, uid in res.links:
        res.n_cids[uid] = res.n_cids.get(uid, 0) + 1
    res.suspicious = {u for u, n in res.n_cids.items() if n > settings.max_devices_per_user}
    for cid, uid in res.links:
        if uid not in res.suspicious:
            res.n_uids[cid] = res.n_uids.get(cid, 0) + 1
    res.shared = {c for c, n in res.n_uids.items() if n > settings.max_users_per_device}

    for cid, rows in by_cid.items():
        rows.sort(key=lambda row: (row[0], row[1]))
        _stitch_device(cid, rows, settings, res)
    for key, uid in consent:
        keep = (
            settings.include_consent_denied
            and uid is not None
            and (uid not in res.suspicious or settings.keep_suspicious_logins)
        )
        res.stitched[key] = (uid if keep else None, r.CONSENT_DENIED)
    return res


def _stitch_device(
    cid: str, rows: list[tuple[datetime, str, str | None]], settings: IdentitySettings, res: Result
) -> None:
    first_uid = next((uid for _, _, uid in rows if uid is not None), None)
    shared = cid in res.shared
    prev: str | None = None
    starts: list[tuple[str, tuple[datetime, str]]] = []
    for ts, key, uid in rows:
        if uid is not None:
            if uid != prev:
                starts.append((uid, (ts, key)))
            prev = uid
            if uid in res.suspicious:
                res.stitched[key] = (
                    uid if settings.keep_suspicious_logins else None,
                    r.SUSPICIOUS_UID,
                )
            else:
                res.stitched[key] = (uid, r.LOGIN)
            continue
        candidate = prev if prev is not None else first_uid
        if candidate is None:
            res.stitched[key] = (None, r.NONE)
        elif candidate in res.suspicious:
            res.stitched[key] = (None, r.SUSPICIOUS_UID)
        elif shared and not settings.attribute_shared_devices:
            res.stitched[key] = (None, r.SHARED_DEVICE)
        else:
            res.stitched[key] = (candidate, r.BACKFILL if prev is None else r.AFTER_LOGOUT)

    for i, (uid, start) in enumerate(starts):
        valid_from = (rows[0][0], rows[0][1]) if i == 0 else start
        valid_to = starts[i + 1][1] if i + 1 < len(starts) else None
        status = r.SUSPICIOUS if uid in res.suspicious else r.SHARED if shared else r.ACTIVE
        res.intervals.append(Interval(cid, uid, i + 1, valid_from, valid_to, status))
