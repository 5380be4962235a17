"""Hypothesis strategies for identity: random event streams and identity settings.

Streams mix logins, logouts (anonymous events after a login), several devices per user, shared
devices, junk UIDs, consent-denied rows (no CID), timestamp ties, and late arrival (an event
staged under a later shard date than its own). Coarse timestamps make ties common.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from cdp.config import IdentitySettings
from tests.staged_schema import STG_EVENTS_SCHEMA

T0 = datetime(2024, 3, 1, tzinfo=UTC)
JUNK = ["null", "NULL", "undefined", "", " ", "0", "000", "-1", "Anonymous", "test_user", "dummy1"]


def make_event(key: str, ts: datetime, cid: str | None, uid: str | None, *, shard_lag_days: int = 0,
               event_name: str = "page_view", session: int | None = None) -> dict[str, Any]:  # fmt: skip
    """One `stg_events` row (the columns identity reads, the rest NULL or plausible)."""
    session_id = session if session is not None else int(ts.timestamp()) // 3600
    return {
        "event_key": key,
        "event_ts": ts,
        "event_timestamp": int(ts.timestamp() * 1_000_000),
        "event_date": ts.date(),
        "shard_date": (ts + timedelta(days=shard_lag_days)).strftime("%Y%m%d"),
        "is_provisional": False,
        "event_name": event_name,
        "cid": cid,
        "uid": uid,
        "ga_session_id": None if cid is None else session_id,
        "ga_session_number": None if cid is None else 1,
        "page_location": "https://example.com/",
        "analytics_storage": "No" if cid is None else "Yes",
        "session_key": None if cid is None else f"{cid}.{session_id}",
        "page_path": "/",
    }


def stg_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=STG_EVENTS_SCHEMA)


@st.composite
def event_streams(draw: st.DrawFn, max_events: int = 60) -> list[dict[str, Any]]:
    people = [f"U{i}" for i in range(draw(st.integers(1, 4)))]
    n_devices = draw(st.integers(1, 6))
    # Each device has its own small set of users: one person, or several (a shared device).
    users = [
        draw(st.lists(st.sampled_from(people), min_size=1, max_size=4, unique=True))
        for _ in range(n_devices)
    ]
    # Each device is active in its own window (hours from T0), so some devices stop appearing
    # long before others: an incremental run must still revisit them when a UID's status flips.
    windows = [
        (draw(st.integers(0, 90)), draw(st.sampled_from([1, 6, 30, 96]))) for _ in range(n_devices)
    ]
    rows = []
    for i in range(draw(st.integers(0, max_events))):
        device = draw(st.integers(-1, n_devices - 1))  # -1: consent denied (no CID)
        kind = draw(st.sampled_from(["anon", "anon", "login", "login", "junk"]))
        pool = users[device] if device >= 0 else people
        uid = None if kind == "anon" else draw(st.sampled_from(JUNK if kind == "junk" else pool))
        start, span = windows[device] if device >= 0 else (0, 96)
        hour = min(start + draw(st.integers(0, span)), 4 * 24 - 1)
        ts = T0 + timedelta(hours=hour, minutes=draw(st.sampled_from([0, 0, 30])))
        lag = draw(st.sampled_from([0, 0, 0, 0, 1, 2]))  # late arrival: staged under a later date
        # Keys are random so that key order (the tie-break) is unrelated to generation order.
        key = f"{draw(st.integers(0, 999)):03d}-{i:03d}"
        rows.append(
            make_event(key, ts, f"C{device}" if device >= 0 else None, uid, shard_lag_days=lag)
        )
    return rows


@st.composite
def identity_settings(draw: st.DrawFn) -> IdentitySettings:
    return IdentitySettings(
        max_users_per_device=draw(st.integers(1, 3)),
        max_devices_per_user=draw(st.integers(1, 4)),
        attribute_shared_devices=draw(st.booleans()),
        include_consent_denied=draw(st.booleans()),
        keep_suspicious_logins=draw(st.booleans()),
    )


# ---- helpers shared by the identity tests -------------------------------------------------------

SNAPSHOT_SQL = {
    "stitched_events": "SELECT event_key, stitched_uid, attribution FROM stitched_events",
    "identity_link_sessions": "SELECT cid, uid, ga_session_id, shard_date, first_seen, last_seen, events "
    "FROM identity_link_sessions",
    "identity_links": "SELECT cid, uid, first_seen, last_seen, events, sessions FROM identity_links",
    "identity_flags": "SELECT uid, n_cids, is_suspicious, first_seen, last_seen, events FROM identity_flags",
    "identity_devices": "SELECT cid, n_uids_seen, n_uids, is_shared FROM identity_devices",
    "identity_map": "SELECT cid, uid, interval_no, valid_from, valid_from_key, valid_to, valid_to_key, status "
    "FROM identity_map",
    "identity_junk": "SELECT shard_date, uid, events, cids FROM identity_junk",
}


def snapshot(backend: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every identity output as sorted tuples: equal snapshots mean equal tables."""
    out = {}
    for name, sql in SNAPSHOT_SQL.items():
        rows = backend.query(sql).to_pylist()
        out[name] = sorted((tuple(r.values()) for r in rows), key=repr)
    return out


def restage(backend: Any, rows: list[dict[str, Any]], dates: list[str]) -> None:
    """What staging does: replace every row of `dates` with `rows` (those of these dates)."""
    table = stg_table([r for r in rows if r["shard_date"] in dates])
    if not backend.table_exists("stg_events"):
        backend.load_arrow("stg_events", table, mode="replace")
        return
    backend.execute("DELETE FROM stg_events WHERE shard_date IN UNNEST(@d)", {"d": dates})
    backend.load_arrow("stg_events", table, mode="append")
