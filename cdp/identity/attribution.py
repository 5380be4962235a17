"""The identity rules for each event (`stitched_events`), and the incremental run's pass over them.

Events of one CID are totally ordered by (event_ts, event_key), so ties at one timestamp resolve
the same way whatever order the rows arrive in. For each event on a CID:

1. it carries a valid UID                 -> that UID ('login'); a suspicious one keeps it only
                                             with `keep_suspicious_logins` ('suspicious_uid');
2. anonymous, some login before it        -> the last UID seen before it ('after_logout');
3. anonymous, no login before it          -> the CID's first UID ('backfill');
4. anonymous, no login on the CID at all  -> nobody ('none').

Cases 2-3 are withheld when the candidate UID is suspicious ('suspicious_uid'), or when the CID
is shared and `attribute_shared_devices` is off ('shared_device'). Consent-denied rows (no CID)
are never stitched to anyone; with `include_consent_denied` a row keeps its own valid UID.

`identity_map` holds the same decision as intervals (see `intervals`). Bounds are
(timestamp, event_key) pairs, half-open, so the map is a function even at ties.

An incremental run decides in one pass over the suffix of each CID's events it recomputes
(`labels_select`, narrow columns only; `carry_uid`, `carry_first` and `kept` stand for the events
before the suffix), then joins the decisions back to the staged rows by `same_event`, so no wide
row is sorted. A full rebuild looks each event up in the intervals instead (`intervals`).
"""

from __future__ import annotations

from cdp.identity.links import shared_devices, suspicious_uids
from cdp.identity.rules import (
    AFTER_LOGOUT,
    BACKFILL,
    CONSENT_DENIED,
    LOGIN,
    NONE,
    SHARED_DEVICE,
    SUSPICIOUS_UID,
)

# The total order of a CID's events: ties at one timestamp resolve by the event key.
ORDER = "ORDER BY event_ts, event_key"

# The decision for an event on a CID, from the helper columns of `device_events`.
_STITCHED_UID = """CASE
    WHEN clean_uid IS NOT NULL AND NOT own_suspicious THEN clean_uid
    WHEN clean_uid IS NOT NULL AND @keep_suspicious_logins THEN clean_uid
    WHEN clean_uid IS NOT NULL THEN NULL
    WHEN first_uid IS NULL OR cand_suspicious THEN NULL
    WHEN is_shared AND NOT @attribute_shared_devices THEN NULL
    ELSE COALESCE(prev_uid, first_uid)
  END"""
_ATTRIBUTION = f"""CASE
    WHEN clean_uid IS NOT NULL AND own_suspicious THEN '{SUSPICIOUS_UID}'
    WHEN clean_uid IS NOT NULL THEN '{LOGIN}'
    WHEN first_uid IS NULL THEN '{NONE}'
    WHEN cand_suspicious THEN '{SUSPICIOUS_UID}'
    WHEN is_shared AND NOT @attribute_shared_devices THEN '{SHARED_DEVICE}'
    WHEN prev_uid IS NULL THEN '{BACKFILL}'
    ELSE '{AFTER_LOGOUT}'
  END"""

# What `labels_select` passes through, before its two decisions (`stitched_uid`, `attribution`).
_LABEL_INPUTS = "cid, event_ts, event_key, shard_date, clean_uid, prev_login, is_first, kept"


def same_event(a: str, b: str) -> str:
    """Rows `a` and `b` are one staged event: same (event_key, event_ts, shard_date).

    Staging keeps one row per (event_timestamp, event_key) in a shard date, and the key
    fingerprints the CID among other fields (`tests/test_staging.py` checks the uniqueness), so
    rows of different CIDs, or a labelled row and a consent-denied one, never match. Every part
    is narrow (no CID string), so joins on it stay cheap on every engine.
    """
    return (
        f"{a}.event_key = {b}.event_key AND {a}.event_ts = {b}.event_ts "
        f"AND {a}.shard_date = {b}.shard_date"
    )


def consent_uid(clean_uid: str, own_suspicious: str) -> str:
    """The stitched_uid of a consent-denied row: its own valid UID, if the settings allow."""
    return (
        f"CASE WHEN @include_consent_denied AND {clean_uid} IS NOT NULL "
        f"AND (NOT {own_suspicious} OR @keep_suspicious_logins) THEN {clean_uid} END"
    )


def at_or_after(ts: str, key: str, cut_ts: str, cut_key: str) -> str:
    """Position (ts, key) is at or after (cut_ts, cut_key) in the event order of a CID."""
    return f"({ts} > {cut_ts} OR ({ts} = {cut_ts} AND {key} >= {cut_key}))"


def labels_select(src: str, flags: str, devices: str) -> str:
    """Per event of a CID: `stitched_uid`, `attribution`, and what `intervals.map_select` reads.

    `src` holds, per CID, its events from some point on (all of them when the CID is recomputed
    whole) with cid, event_ts, event_key, shard_date, clean_uid, and what precedes that point:
    `carry_uid` (the last UID before it), `carry_first` (the CID's first UID) -- both NULL for a
    whole history -- and `kept` (the map intervals starting before it). `prev_login` is the last UID strictly
    before the event; `is_first` marks the first event in `src`.
    """
    window = f"PARTITION BY cid {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND"
    suspicious, shared = suspicious_uids(flags), shared_devices(devices)
    return f"""
WITH {src},
ordered AS (
  SELECT
    *,
    COALESCE(
      LAST_VALUE(clean_uid IGNORE NULLS) OVER ({window} 1 PRECEDING), carry_uid) AS prev_login,
    COALESCE(
      carry_first,
      FIRST_VALUE(clean_uid IGNORE NULLS) OVER ({window} UNBOUNDED FOLLOWING)) AS first_uid,
    ROW_NUMBER() OVER (PARTITION BY cid {ORDER}) = 1 AS is_first
  FROM src
),
device_events AS (
  SELECT
    o.*,
    COALESCE(own.is_suspicious, FALSE) AS own_suspicious,
    COALESCE(cand.is_suspicious, FALSE) AS cand_suspicious,
    COALESCE(d.is_shared, FALSE) AS is_shared
  FROM (SELECT *, COALESCE(clean_uid, prev_login) AS prev_uid FROM ordered) AS o
  LEFT JOIN {suspicious} AS own ON own.uid = o.clean_uid
  LEFT JOIN {suspicious} AS cand ON cand.uid = COALESCE(o.prev_uid, o.first_uid)
  LEFT JOIN {shared} AS d ON d.cid = o.cid
)
SELECT
  {_LABEL_INPUTS},
  {_STITCHED_UID} AS stitched_uid,
  {_ATTRIBUTION} AS attribution
FROM device_events
"""


def stitched_select(src: str, labels: str, flags: str) -> str:
    """All `stg_events` columns + `stitched_uid` + `attribution`, for the rows in `src`.

    `src`: staged rows with `clean_uid`; `labels`: the decisions for those with a CID. A
    consent-denied row (no CID) is decided here: it depends only on its own UID's flag.
    """
    own = "COALESCE(f.is_suspicious, FALSE)"
    return f"""
WITH {src}
SELECT
  s.* EXCEPT (clean_uid),
  IF(s.cid IS NULL, {consent_uid("s.clean_uid", own)}, l.stitched_uid) AS stitched_uid,
  IF(s.cid IS NULL, '{CONSENT_DENIED}', l.attribution) AS attribution
FROM src AS s
LEFT JOIN {labels} AS l ON {same_event("l", "s")}
LEFT JOIN {suspicious_uids(flags)} AS f ON f.uid = s.clean_uid AND s.cid IS NULL
"""
