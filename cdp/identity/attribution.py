"""Per-event attribution (`stitched_events`) and the time-scoped CID -> UID map (`identity_map`).

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

`identity_map` holds the same decision as intervals: a new interval starts at each login whose
UID differs from the previous login's; the first starts at the CID's first event (backfill).
Bounds are (timestamp, event_key) pairs, half-open, so the map is a function even at ties.
"""

from __future__ import annotations

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
)

_ORDER = "ORDER BY event_ts, event_key"
_HELPERS = "clean_uid, prev_uid, first_uid, own_suspicious, cand_suspicious, is_shared"


def stitched_select(src: str, flags: str, devices: str) -> str:
    """All `stg_events` columns + `stitched_uid` + `attribution`, for the events in `src`."""
    return f"""
WITH {src},
ordered AS (
  SELECT
    *,
    LAST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid {_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_uid,
    FIRST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid {_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_uid
  FROM src
  WHERE cid IS NOT NULL
),
device_events AS (
  SELECT
    o.*,
    COALESCE(own.is_suspicious, FALSE) AS own_suspicious,
    COALESCE(cand.is_suspicious, FALSE) AS cand_suspicious,
    COALESCE(d.is_shared, FALSE) AS is_shared
  FROM ordered AS o
  LEFT JOIN {flags} AS own ON own.uid = o.clean_uid
  LEFT JOIN {flags} AS cand ON cand.uid = COALESCE(o.prev_uid, o.first_uid)
  LEFT JOIN {devices} AS d ON d.cid = o.cid
),
consent_events AS (
  SELECT
    s.*,
    CAST(NULL AS STRING) AS prev_uid,
    CAST(NULL AS STRING) AS first_uid,
    COALESCE(f.is_suspicious, FALSE) AS own_suspicious,
    FALSE AS cand_suspicious,
    FALSE AS is_shared
  FROM src AS s
  LEFT JOIN {flags} AS f ON f.uid = s.clean_uid
  WHERE s.cid IS NULL
)
SELECT
  * EXCEPT ({_HELPERS}),
  CASE
    WHEN clean_uid IS NOT NULL AND NOT own_suspicious THEN clean_uid
    WHEN clean_uid IS NOT NULL AND @keep_suspicious_logins THEN clean_uid
    WHEN clean_uid IS NOT NULL THEN NULL
    WHEN first_uid IS NULL OR cand_suspicious THEN NULL
    WHEN is_shared AND NOT @attribute_shared_devices THEN NULL
    ELSE COALESCE(prev_uid, first_uid)
  END AS stitched_uid,
  CASE
    WHEN clean_uid IS NOT NULL AND own_suspicious THEN '{SUSPICIOUS_UID}'
    WHEN clean_uid IS NOT NULL THEN '{LOGIN}'
    WHEN first_uid IS NULL THEN '{NONE}'
    WHEN cand_suspicious THEN '{SUSPICIOUS_UID}'
    WHEN is_shared AND NOT @attribute_shared_devices THEN '{SHARED_DEVICE}'
    WHEN prev_uid IS NULL THEN '{BACKFILL}'
    ELSE '{AFTER_LOGOUT}'
  END AS attribution
FROM device_events
UNION ALL
SELECT
  * EXCEPT ({_HELPERS}),
  CASE
    WHEN @include_consent_denied AND clean_uid IS NOT NULL
      AND (NOT own_suspicious OR @keep_suspicious_logins) THEN clean_uid
  END AS stitched_uid,
  '{CONSENT_DENIED}' AS attribution
FROM consent_events
"""


def map_select(src: str, flags: str, devices: str) -> str:
    """Intervals per CID: (cid, uid, interval_no, valid_from[_key], valid_to[_key], status)."""
    return f"""
WITH {src},
device_events AS (
  SELECT cid, event_ts, event_key, clean_uid FROM src WHERE cid IS NOT NULL
),
first_events AS (
  SELECT cid, event_ts AS first_ts, event_key AS first_key
  FROM device_events
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY cid {_ORDER}) = 1
),
logins AS (
  SELECT
    cid,
    clean_uid AS uid,
    event_ts,
    event_key,
    LAG(clean_uid) OVER (PARTITION BY cid {_ORDER}) AS prev_uid
  FROM device_events
  WHERE clean_uid IS NOT NULL
),
starts AS (
  SELECT
    cid,
    uid,
    event_ts,
    event_key,
    ROW_NUMBER() OVER (PARTITION BY cid {_ORDER}) AS interval_no
  FROM logins
  WHERE prev_uid IS NULL OR prev_uid != uid
)
SELECT
  s.cid,
  s.uid,
  s.interval_no,
  IF(s.interval_no = 1, fe.first_ts, s.event_ts) AS valid_from,
  IF(s.interval_no = 1, fe.first_key, s.event_key) AS valid_from_key,
  LEAD(s.event_ts) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS valid_to,
  LEAD(s.event_key) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS valid_to_key,
  CASE
    WHEN COALESCE(f.is_suspicious, FALSE) THEN '{SUSPICIOUS}'
    WHEN COALESCE(d.is_shared, FALSE) THEN '{SHARED}'
    ELSE '{ACTIVE}'
  END AS status
FROM starts AS s
JOIN first_events AS fe ON fe.cid = s.cid
LEFT JOIN {flags} AS f ON f.uid = s.uid
LEFT JOIN {devices} AS d ON d.cid = s.cid
"""
