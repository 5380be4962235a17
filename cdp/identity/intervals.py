"""The map's intervals, and the full rebuild's attribution as a lookup in them.

A CID's logins start its intervals: one at each login whose UID differs from the last login's.
An interval runs to the next one's start; the first also covers every event before it
(backfill), so in `identity_map` it starts at the CID's first event. Its status says whether its
UID may be stitched: `suspicious` (the UID is) before `shared` (the CID is) before `active`.

A *span* is an interval as its login opened it (`login_ts`, `login_key`), ending where the next
one opens (`next_ts`, `next_key`); `identity_map` rows are the spans with the first one stretched
back to the CID's first event (`valid_from`, `valid_to`).

A full rebuild orders only the login events (`spans_full_select`), and then each staged row looks
up its CID's span by position (`stitched_full_select`): one join on the CID, so no wide row is
sorted and no per-event window runs. The join compares an anonymous row with every span of its
CID, which is one or two for a person; a *busy* device (a showroom tablet switching between
salespeople's accounts all day: only the number of distinct UIDs makes a device shared) could
have thousands, so a CID with more than `LOOKUP_MAX_SPANS` spans is decided by the per-event
pass instead (`attribution.labels_select`, the incremental run's). The incremental run derives
its intervals from those labels (`map_select`). All follow the rules in `attribution`, and the
property tests hold them equal.
"""

from __future__ import annotations

from cdp.config import IdentitySettings
from cdp.identity.attribution import ORDER, at_or_after, consent_uid, same_event
from cdp.identity.links import shared_devices, suspicious_uids
from cdp.identity.rules import (
    ACTIVE,
    AFTER_LOGOUT,
    BACKFILL,
    CONSENT_DENIED,
    LOGIN,
    NONE,
    SHARED,
    SHARED_DEVICE,
    SUSPICIOUS,
    SUSPICIOUS_UID,
    clean_uid_sql,
)
from cdp.identity.tables import STG_EVENTS

# Spans a CID may have and still be looked up; a busier one costs (its anonymous rows x spans).
LOOKUP_MAX_SPANS = 32


def _spans(starts: str, flags: str, devices: str) -> str:
    """Per row of `starts` (cid, uid, event_ts, event_key, interval_no: the login starting an
    interval): the interval, to the next one's start (NULL for the last), and its status."""
    return f"""
SELECT
  s.cid,
  s.uid,
  s.interval_no,
  s.event_ts AS login_ts,
  s.event_key AS login_key,
  LEAD(s.event_ts) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS next_ts,
  LEAD(s.event_key) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS next_key,
  CASE
    WHEN COALESCE(f.is_suspicious, FALSE) THEN '{SUSPICIOUS}'
    WHEN COALESCE(d.is_shared, FALSE) THEN '{SHARED}'
    ELSE '{ACTIVE}'
  END AS status
FROM {starts} AS s
LEFT JOIN {suspicious_uids(flags)} AS f ON f.uid = s.uid
LEFT JOIN {shared_devices(devices)} AS d ON d.cid = s.cid
"""


def map_rows(spans: str, first_events: str) -> str:
    """`identity_map` rows: the first interval of a CID starts at its first event."""
    return f"""
SELECT
  p.cid,
  p.uid,
  p.interval_no,
  IF(p.interval_no = 1, fe.first_ts, p.login_ts) AS valid_from,
  IF(p.interval_no = 1, fe.first_key, p.login_key) AS valid_from_key,
  p.next_ts AS valid_to,
  p.next_key AS valid_to_key,
  p.status
FROM {spans} AS p
JOIN {first_events} AS fe ON fe.cid = p.cid
"""


def map_select(labels: str, flags: str, devices: str) -> str:
    """Intervals per CID from `labels` (see `attribution.labels_select`), numbered on from `kept`.

    A login starts an interval when its UID differs from the last one before it (`prev_login`),
    so an incremental run yields only the intervals that start in the suffix it recomputed.
    """
    return f"""
WITH starts AS (
  SELECT
    cid,
    clean_uid AS uid,
    event_ts,
    event_key,
    kept + ROW_NUMBER() OVER (PARTITION BY cid {ORDER}) AS interval_no
  FROM {labels}
  WHERE clean_uid IS NOT NULL AND (prev_login IS NULL OR prev_login != clean_uid)
),
first_events AS (
  SELECT cid, event_ts AS first_ts, event_key AS first_key FROM {labels} WHERE is_first
),
spans AS ({_spans("starts", flags, devices)})
{map_rows("spans", "first_events")}"""


def spans_full_select(settings: IdentitySettings, flags: str, devices: str) -> str:
    """Every CID's intervals (see `_spans`), from its login events in `stg_events`."""
    clean = clean_uid_sql(settings)
    return f"""
WITH logins AS (
  SELECT
    cid,
    clean_uid AS uid,
    event_ts,
    event_key,
    LAG(clean_uid) OVER (PARTITION BY cid {ORDER}) AS prev_uid
  FROM (
    SELECT cid, event_ts, event_key, {clean} AS clean_uid
    FROM {STG_EVENTS}
    WHERE cid IS NOT NULL AND uid IS NOT NULL
  )
  WHERE clean_uid IS NOT NULL
),
starts AS (
  SELECT
    cid,
    uid,
    event_ts,
    event_key,
    ROW_NUMBER() OVER (PARTITION BY cid {ORDER}) AS interval_no
  FROM logins
  WHERE prev_uid IS NULL OR prev_uid != uid
)
{_spans("starts", flags, devices)}"""


def earliest_events(events: str) -> str:
    """Each CID's earliest event (cid, first_ts, first_key) among `events` (a parenthesised
    subquery of cid, event_ts, event_key, with a CID): aggregated, not ordered."""
    return f"""
WITH candidates AS {events},
firsts AS (SELECT cid, MIN(event_ts) AS first_ts FROM candidates GROUP BY cid)
SELECT f.cid, f.first_ts, MIN(c.event_key) AS first_key
FROM firsts AS f
JOIN candidates AS c ON c.cid = f.cid AND c.event_ts = f.first_ts
GROUP BY f.cid, f.first_ts
"""


def first_events_select() -> str:
    """Each CID's first event in `stg_events`: where its first interval starts."""
    return earliest_events(
        f"(SELECT cid, event_ts, event_key FROM {STG_EVENTS} WHERE cid IS NOT NULL)"
    )


def busy_devices_select(spans: str) -> str:
    """The CIDs with more spans than `LOOKUP_MAX_SPANS` (usually none)."""
    return f"SELECT cid FROM {spans} GROUP BY cid HAVING COUNT(*) > {LOOKUP_MAX_SPANS}"


def stitched_full_select(src: str, spans: str, busy: str, busy_labels: str, flags: str) -> str:
    """All `stg_events` columns + `stitched_uid` + `attribution`: each anonymous event takes its
    CID's span at its position (`spans`, from `spans_full_select`); the rules' cases, in
    `attribution`'s order, read the span's status.

    The join finds the span holding an anonymous row (login rows never need one): the first span
    also holds the rows before its login (backfill), and the last has no end. Staging's rows
    always have an event_ts and an event_key, so each anonymous row of a CID with a login finds
    exactly one. The CIDs in `busy` are not looked up: their rows' decisions are in
    `busy_labels` (`attribution.labels_select` rows).
    """
    own = "COALESCE(own.is_suspicious, FALSE)"
    at_login = at_or_after("s.event_ts", "s.event_key", "p.login_ts", "p.login_key")
    at_next = at_or_after("s.event_ts", "s.event_key", "p.next_ts", "p.next_key")
    return f"""
WITH {src}
SELECT
  s.* EXCEPT (clean_uid),
  CASE
    WHEN b.cid IS NOT NULL THEN b.stitched_uid
    WHEN s.cid IS NULL THEN {consent_uid("s.clean_uid", own)}
    WHEN s.clean_uid IS NOT NULL THEN IF({own} AND NOT @keep_suspicious_logins, NULL, s.clean_uid)
    WHEN p.status = '{ACTIVE}' OR (p.status = '{SHARED}' AND @attribute_shared_devices) THEN p.uid
  END AS stitched_uid,
  CASE
    WHEN b.cid IS NOT NULL THEN b.attribution
    WHEN s.cid IS NULL THEN '{CONSENT_DENIED}'
    WHEN s.clean_uid IS NOT NULL AND {own} THEN '{SUSPICIOUS_UID}'
    WHEN s.clean_uid IS NOT NULL THEN '{LOGIN}'
    WHEN p.cid IS NULL THEN '{NONE}'
    WHEN p.status = '{SUSPICIOUS}' THEN '{SUSPICIOUS_UID}'
    WHEN p.status = '{SHARED}' AND NOT @attribute_shared_devices THEN '{SHARED_DEVICE}'
    WHEN p.interval_no = 1 AND NOT {at_login} THEN '{BACKFILL}'
    ELSE '{AFTER_LOGOUT}'
  END AS attribution
FROM src AS s
LEFT JOIN (SELECT * FROM {spans} WHERE cid NOT IN (SELECT cid FROM {busy})) AS p
  ON p.cid = s.cid AND s.clean_uid IS NULL
  AND (p.interval_no = 1 OR {at_login})
  AND (p.next_ts IS NULL OR NOT {at_next})
LEFT JOIN {busy_labels} AS b ON {same_event("b", "s")}
LEFT JOIN {suspicious_uids(flags)} AS own ON own.uid = s.clean_uid
"""
