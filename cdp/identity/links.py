"""Evidence and the per-UID / per-CID facts derived from it.

- `identity_links`: one row per (cid, uid) seen together on at least one event (junk UIDs and
  consent-denied rows never count), with first/last seen, events and sessions; aggregated from
  `identity_link_sessions`, the same evidence per session and shard date.
- `identity_flags`: per UID, how many CIDs it was seen on; more than `max_devices_per_user` makes
  it suspicious (a logout placeholder or a shared account, not a person).
- `identity_devices`: per CID, how many distinct non-suspicious UIDs; more than
  `max_users_per_device` makes it a shared device.
- `identity_junk`: per shard date, event date and raw junk value, the events (and CIDs) whose UID
  was dropped. Keyed by shard date because staging replaces whole shard dates, and by event date
  because the daily metrics count by it (a late event is staged under a later shard date).

Each function returns one GoogleSQL SELECT; `build` decides where its rows go.
"""

from __future__ import annotations


def link_sessions_select(src: str) -> str:
    """Evidence per (cid, uid, session, shard date), the rows `links_select` aggregates.

    A session is GA4's `ga_session_id` on its CID (what staging's `session_key` concatenates):
    an integer groups and counts faster than that string. `uid IS NOT NULL` is implied by the
    clean UID, but a plain column test lets the scan skip anonymous rows before the junk rules.
    """
    return f"""
WITH {src}
SELECT
  cid,
  clean_uid AS uid,
  ga_session_id,
  shard_date,
  MIN(event_ts) AS first_seen,
  MAX(event_ts) AS last_seen,
  COUNT(*) AS events
FROM src
WHERE cid IS NOT NULL AND uid IS NOT NULL AND clean_uid IS NOT NULL
GROUP BY cid, clean_uid, ga_session_id, shard_date
"""


def links_select(sessions: str) -> str:
    """One row per link from `sessions` (a table or subquery of `link_sessions_select` rows).

    A session staged under two shard dates has two rows, so sessions are counted distinct.
    """
    return f"""
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS INT64) AS events,
  COUNT(DISTINCT ga_session_id) AS sessions
FROM {sessions} AS s
GROUP BY cid, uid
"""


def flags_select(links: str) -> str:
    """`links` is a table name or a parenthesised subquery with the links columns."""
    return f"""
SELECT
  uid,
  COUNT(*) AS n_cids,
  COUNT(*) > @max_devices_per_user AS is_suspicious,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  SUM(events) AS events
FROM {links} AS l
GROUP BY uid
"""


# Only the flags that are set change a decision, so joins read those (usually a few rows).
def suspicious_uids(flags: str) -> str:
    return f"(SELECT uid, is_suspicious FROM {flags} WHERE is_suspicious)"


def shared_devices(devices: str) -> str:
    return f"(SELECT cid, is_shared FROM {devices} WHERE is_shared)"


def devices_select(links: str, flags: str) -> str:
    # Suspicious UIDs are not people, so they do not make a device shared. Every UID on a link
    # has a flag, so a link without a suspicious one counts.
    return f"""
SELECT
  l.cid,
  COUNT(*) AS n_uids_seen,
  COUNTIF(f.uid IS NULL) AS n_uids,
  COUNTIF(f.uid IS NULL) > @max_users_per_device AS is_shared,
  MIN(l.first_seen) AS first_login,
  MAX(l.last_seen) AS last_login
FROM {links} AS l
LEFT JOIN {suspicious_uids(flags)} AS f ON f.uid = l.uid
GROUP BY l.cid
"""


def junk_select(src: str) -> str:
    return f"""
WITH {src}
SELECT
  shard_date,
  event_date,
  uid,
  COUNT(*) AS events,
  COUNT(DISTINCT cid) AS cids
FROM src
WHERE uid IS NOT NULL AND clean_uid IS NULL
GROUP BY shard_date, event_date, uid
"""
