"""The statements of a full rebuild and of an incremental run, named for golden snapshots.

Full rebuild: each output is created from `stg_events` (CREATE OR REPLACE ... AS SELECT). Only
the login events are ordered, into the intervals of the map (SPANS); each staged row then looks
up its CID's interval at its position (`intervals`), so no wide row is sorted. The rare CIDs with
too many intervals for a lookup (BUSY) are decided by the per-event pass (BUSY_LABELS).

Incremental run over the restaged shard dates @changed_dates (staging replaces whole dates). Its
cost follows the changed events, not the history: it reads the history of the CIDs they touch
once, rewrites no output row that does not change, and recomputes an event's attribution only
from its CID's *cut* (the earliest event on a changed date, old or new).

1. SCOPE0 = CIDs with an event on a changed date, before (stitched_events) or after (stg_events),
   with that cut. Only their links can change.
2. SESSIONS_NEW = the link evidence (per session) of the changed dates; LINKS_NEW = the links of
   SCOPE0 from it and their sessions on other dates (`identity_link_sessions`, so the history is
   not re-read); AFFECTED_UIDS = the UIDs on those links, before or after; FLAGS_NEW = their
   flags.
3. CHANGED_UIDS = UIDs whose suspicious status flipped; DEVICES_NEW for SCOPE0 + every CID linked
   to one (their shared status and their events' attribution depend on it).
4. SCOPE: how much of each of those CIDs to recompute. Events before the cut are unchanged, and
   so is their attribution when (a) the CID had a login strictly before the cut, (b) none of its
   UIDs flipped and (c) its shared status stayed; or when the CID has no login at all, before
   or after (its events stay unattributed). Then only the suffix from the cut is recomputed,
   from what precedes it, read from the old `identity_map`: the last UID before the cut
   (`carry_uid`), the CID's first UID (`first_uid`), the intervals starting before the cut
   (`kept`, which stay) and the last of them (whose end may move). Otherwise (`whole`) the
   CID's whole history is recomputed.
5. HISTORY (the `stitched_events` rows of those events on dates not restaged, read once, wide),
   LABELS (those events, narrow, with their attribution: the restaged dates' from `stg_events`,
   the others from HISTORY), MAP_NEW (the intervals starting in the suffix), RELABELED (the
   HISTORY rows whose attribution changed; consent-denied rows whose own UID flipped).
6. One transaction (DML only: BigQuery transactions cannot create permanent tables) applies it:
   outputs keyed by CID or UID get DELETE + INSERT of the scoped keys; `stitched_events` gets the
   restaged dates' rows deleted and re-inserted from `stg_events` with their LABELS, and the
   RELABELED rows replaced. (DELETE + INSERT rather than UPDATE: on DuckDB an UPDATE of rows
   spread over the table costs more, its commit rewriting whole columns.) The result equals a
   full rebuild (property-tested in `tests/test_identity_properties.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdp.config import IdentitySettings
from cdp.identity import source
from cdp.identity import tables as t
from cdp.identity.attribution import (
    at_or_after,
    consent_uid,
    labels_select,
    same_event,
    stitched_select,
)
from cdp.identity.intervals import (
    busy_devices_select,
    earliest_events,
    first_events_select,
    map_rows,
    map_select,
    spans_full_select,
    stitched_full_select,
)
from cdp.identity.links import (
    devices_select,
    flags_select,
    junk_select,
    link_sessions_select,
    links_select,
)
from cdp.identity.source import RESTAGED

# Storage layout (BigQuery only; DuckDB drops these hints).
_LAYOUT = {
    t.STITCHED: "PARTITION BY event_date CLUSTER BY cid, event_name",
    t.LINKS: "CLUSTER BY cid, uid",
    t.MAP: "CLUSTER BY cid",
}

# The links of every CID, with SCOPE0's replaced by their recomputed rows.
_MERGED_LINKS = (
    f"(SELECT * FROM {t.LINKS} WHERE cid NOT IN (SELECT cid FROM {t.SCOPE0}) "
    f"UNION ALL SELECT * FROM {t.LINKS_NEW})"
)
# UIDs on a link of SCOPE0, before or after: the only flags that can change.
_AFFECTED_UIDS_SQL = (
    f"SELECT uid FROM {t.LINKS} WHERE cid IN (SELECT cid FROM {t.SCOPE0}) "
    f"UNION DISTINCT SELECT uid FROM {t.LINKS_NEW}"
)
_AFFECTED_UIDS = f"(SELECT uid FROM {t.AFFECTED_UIDS})"
# The links of the AFFECTED_UIDS, SCOPE0's recomputed.
_FLAGS_NEW_LINKS = (
    f"(SELECT * FROM {t.LINKS} WHERE uid IN {_AFFECTED_UIDS} "
    f"AND cid NOT IN (SELECT cid FROM {t.SCOPE0}) UNION ALL SELECT * FROM {t.LINKS_NEW})"
)
# The flags of every UID, with the AFFECTED_UIDS' replaced by their recomputed rows.
_MERGED_FLAGS = (
    f"(SELECT * FROM {t.FLAGS} WHERE uid NOT IN {_AFFECTED_UIDS} "
    f"UNION ALL SELECT * FROM {t.FLAGS_NEW})"
)
# SCOPE0's link evidence after this run: its sessions on other dates, and the changed dates'.
_SCOPE0_SESSIONS = (
    f"(SELECT * FROM {t.LINK_SESSIONS} WHERE cid IN (SELECT cid FROM {t.SCOPE0}) "
    f"AND NOT {RESTAGED} UNION ALL SELECT * FROM {t.SESSIONS_NEW})"
)


@dataclass(frozen=True)
class Statement:
    name: str  # golden snapshot name, `identity_*`
    sql: str
    # Skipped when this (scratch) table is empty: the statement could change nothing.
    unless_empty: str | None = None


def _ctas(table: str, select: str) -> str:
    # Scratch tables are TEMP: DuckDB then keeps them out of the database file, its WAL and
    # checkpoints (~20% of a one-day incremental run at 10M events). BigQuery runs each
    # statement as its own job, so its backend makes them tables in the product dataset.
    kind = "TEMP TABLE" if table in t.SCRATCH else "TABLE"
    layout = _LAYOUT.get(table, "")
    return f"CREATE OR REPLACE {kind} {table} {layout} AS {select}"


def full_plan(settings: IdentitySettings) -> list[Statement]:
    src = source.all_events(settings)
    busy_labels = labels_select(source.busy_device_rows(settings, t.BUSY), t.FLAGS, t.DEVICES)
    return [
        Statement("identity_full_link_sessions", _ctas(t.LINK_SESSIONS, link_sessions_select(src))),
        Statement("identity_full_links", _ctas(t.LINKS, links_select(t.LINK_SESSIONS))),
        Statement("identity_full_flags", _ctas(t.FLAGS, flags_select(t.LINKS))),
        Statement("identity_full_devices", _ctas(t.DEVICES, devices_select(t.LINKS, t.FLAGS))),
        Statement(
            "identity_full_spans", _ctas(t.SPANS, spans_full_select(settings, t.FLAGS, t.DEVICES))
        ),
        Statement("identity_full_busy_devices", _ctas(t.BUSY, busy_devices_select(t.SPANS))),
        Statement("identity_full_busy_labels", _ctas(t.BUSY_LABELS, busy_labels)),
        Statement(
            "identity_full_stitched",
            _ctas(t.STITCHED, stitched_full_select(src, t.SPANS, t.BUSY, t.BUSY_LABELS, t.FLAGS)),
        ),
        Statement("identity_full_first_events", _ctas(t.FIRST_EVENTS, first_events_select())),
        Statement("identity_full_map", _ctas(t.MAP, map_rows(t.SPANS, t.FIRST_EVENTS))),
        Statement("identity_full_junk", _ctas(t.JUNK, junk_select(src))),
    ]


_CHANGED_EVENTS = f"""(
  SELECT cid, event_ts, event_key FROM {t.STG_EVENTS} WHERE {RESTAGED} AND cid IS NOT NULL
  UNION ALL
  SELECT cid, event_ts, event_key FROM {t.STITCHED} WHERE {RESTAGED} AND cid IS NOT NULL
)"""
_SCOPE0_SQL = (
    "SELECT cid, first_ts AS cut_ts, first_key AS cut_key "
    f"FROM ({earliest_events(_CHANGED_EVENTS)})"
)

_CHANGED_UIDS_SQL = f"""
SELECT COALESCE(o.uid, n.uid) AS uid, COALESCE(n.is_suspicious, FALSE) AS is_suspicious
FROM (SELECT uid, is_suspicious FROM {t.FLAGS} WHERE uid IN {_AFFECTED_UIDS}) AS o
FULL OUTER JOIN {t.FLAGS_NEW} AS n ON n.uid = o.uid
WHERE COALESCE(o.is_suspicious, FALSE) != COALESCE(n.is_suspicious, FALSE)
"""

# SCOPE0 + the CIDs linked (before or after) to a UID whose suspicious status flipped.
_SCOPE_CIDS = f"""(
  SELECT cid, LOGICAL_OR(flipped) AS flipped
  FROM (
    SELECT cid, FALSE AS flipped FROM {t.SCOPE0}
    UNION ALL
    SELECT cid, TRUE AS flipped
    FROM (SELECT cid, uid FROM {t.LINKS} UNION ALL SELECT cid, uid FROM {t.LINKS_NEW})
    WHERE uid IN (SELECT uid FROM {t.CHANGED_UIDS})
  )
  GROUP BY cid
)"""

# Per CID in scope: recompute it whole, or from its cut on, knowing the last interval kept.
_SCOPE_SQL = f"""
WITH kept AS (
  SELECT m.cid, COUNT(*) AS kept
  FROM {t.MAP} AS m
  JOIN {t.SCOPE0} AS c ON c.cid = m.cid
  WHERE NOT {at_or_after("m.valid_from", "m.valid_from_key", "c.cut_ts", "c.cut_key")}
  GROUP BY m.cid
),
modes AS (
  SELECT
    sc.cid,
    c.cut_ts,
    c.cut_key,
    k.kept,
    last_kept.uid AS carry_uid,
    first_kept.uid AS first_uid,
    last_kept.valid_from AS kept_from,
    last_kept.valid_from_key AS kept_from_key,
    last_kept.status AS kept_status,
    -- A CID with no login before or after this run stays anonymous: its suffix is enough.
    (od.cid IS NOT NULL OR nd.cid IS NOT NULL) AND (
      c.cid IS NULL
      OR sc.flipped
      OR COALESCE(od.is_shared, FALSE) != COALESCE(nd.is_shared, FALSE)
      OR od.first_login IS NULL
      OR od.first_login >= c.cut_ts
      OR last_kept.uid IS NULL
      OR first_kept.uid IS NULL
    ) AS whole
  FROM {_SCOPE_CIDS} AS sc
  LEFT JOIN {t.SCOPE0} AS c ON c.cid = sc.cid
  LEFT JOIN {t.DEVICES} AS od ON od.cid = sc.cid
  LEFT JOIN {t.DEVICES_NEW} AS nd ON nd.cid = sc.cid
  LEFT JOIN kept AS k ON k.cid = sc.cid
  LEFT JOIN {t.MAP} AS last_kept ON last_kept.cid = sc.cid AND last_kept.interval_no = k.kept
  LEFT JOIN {t.MAP} AS first_kept ON first_kept.cid = sc.cid AND first_kept.interval_no = 1
)
SELECT
  cid,
  whole,
  IF(whole, NULL, cut_ts) AS cut_ts,
  IF(whole, NULL, cut_key) AS cut_key,
  IF(whole, NULL, carry_uid) AS carry_uid,
  IF(whole, NULL, first_uid) AS first_uid,
  IF(whole, 0, COALESCE(kept, 0)) AS kept,
  IF(whole, NULL, kept_from) AS kept_from,
  IF(whole, NULL, kept_from_key) AS kept_from_key,
  IF(whole, NULL, kept_status) AS kept_status
FROM modes
"""

# Rows of other dates whose attribution changed: events recomputed from their cut on (then
# consent-denied rows whose own UID flipped, when one did).
_RELABELED_SQL = f"""
SELECT
  h.* EXCEPT (stitched_uid, attribution, carry_uid, carry_first, kept),
  l.stitched_uid,
  l.attribution
FROM {t.HISTORY} AS h
JOIN {t.LABELS} AS l ON {same_event("l", "h")}
WHERE h.stitched_uid IS DISTINCT FROM l.stitched_uid OR h.attribution != l.attribution
"""
_RELABELED_CONSENT_SQL = f"""
INSERT INTO {t.RELABELED}
SELECT * EXCEPT (old_uid) FROM (
  SELECT
    s.* EXCEPT (stitched_uid, attribution),
    {consent_uid("s.uid", "c.is_suspicious")} AS stitched_uid,
    s.attribution,
    s.stitched_uid AS old_uid
  FROM {t.STITCHED} AS s
  JOIN {t.CHANGED_UIDS} AS c ON c.uid = s.uid
  WHERE s.cid IS NULL AND NOT (s.{RESTAGED})
)
WHERE stitched_uid IS DISTINCT FROM old_uid
"""


def incremental_prepare(settings: IdentitySettings) -> list[Statement]:
    """Scratch tables; no output changes yet."""
    # The links of the CIDs in scope after this run: SCOPE0's are recomputed; the others (linked
    # to a UID that flipped; usually none) keep theirs.
    scope_links = (
        f"(SELECT * FROM {t.LINKS_NEW} UNION ALL SELECT * FROM {t.LINKS} "
        f"WHERE cid IN (SELECT cid FROM {_SCOPE_CIDS} WHERE flipped) "
        f"AND cid NOT IN (SELECT cid FROM {t.SCOPE0}))"
    )
    return [
        Statement("identity_inc_scope0", _ctas(t.SCOPE0, _SCOPE0_SQL)),
        Statement(
            "identity_inc_sessions",
            _ctas(t.SESSIONS_NEW, link_sessions_select(source.changed_date_events(settings))),
        ),
        Statement("identity_inc_links", _ctas(t.LINKS_NEW, links_select(_SCOPE0_SESSIONS))),
        Statement("identity_inc_affected_uids", _ctas(t.AFFECTED_UIDS, _AFFECTED_UIDS_SQL)),
        Statement("identity_inc_flags", _ctas(t.FLAGS_NEW, flags_select(_FLAGS_NEW_LINKS))),
        Statement("identity_inc_changed_uids", _ctas(t.CHANGED_UIDS, _CHANGED_UIDS_SQL)),
        Statement(
            "identity_inc_devices",
            _ctas(t.DEVICES_NEW, devices_select(scope_links, _MERGED_FLAGS)),
        ),
        Statement("identity_inc_scope", _ctas(t.SCOPE, _SCOPE_SQL)),
        Statement("identity_inc_history", _ctas(t.HISTORY, source.history_rows())),
        Statement(
            "identity_inc_labels",
            _ctas(
                t.LABELS,
                labels_select(source.suffix_events(settings), _MERGED_FLAGS, t.DEVICES_NEW),
            ),
        ),
        Statement(
            "identity_inc_map", _ctas(t.MAP_NEW, map_select(t.LABELS, _MERGED_FLAGS, t.DEVICES_NEW))
        ),
        Statement("identity_inc_relabeled", _ctas(t.RELABELED, _RELABELED_SQL)),
        Statement("identity_inc_relabeled_consent", _RELABELED_CONSENT_SQL, t.CHANGED_UIDS),
    ]


# Every RELABELED row, with a CID or consent-denied. The `IN` is redundant: it lets an engine skip
# rows on the key before it joins.
_DELETE_RELABELED = f"""
DELETE FROM {t.STITCHED} AS s
WHERE s.event_key IN (SELECT event_key FROM {t.RELABELED})
  AND EXISTS (SELECT 1 FROM {t.RELABELED} AS r WHERE {same_event("r", "s")})
"""

# Intervals from the last one kept on (or all, when whole): replaced by the two inserts below.
_DELETE_MAP = f"""
DELETE FROM {t.MAP} AS m
WHERE EXISTS (
  SELECT 1 FROM {t.SCOPE} AS s
  WHERE s.cid = m.cid AND (s.whole OR m.interval_no >= s.kept)
)
"""

# The last interval kept before the cut, ending where the first new one starts (if any).
_INSERT_KEPT_INTERVAL = f"""
INSERT INTO {t.MAP}
SELECT
  s.cid,
  s.carry_uid AS uid,
  s.kept AS interval_no,
  s.kept_from AS valid_from,
  s.kept_from_key AS valid_from_key,
  n.valid_from AS valid_to,
  n.valid_from_key AS valid_to_key,
  s.kept_status AS status
FROM {t.SCOPE} AS s
LEFT JOIN {t.MAP_NEW} AS n ON n.cid = s.cid AND n.interval_no = s.kept + 1
WHERE NOT s.whole AND s.kept > 0
"""


def incremental_swap(settings: IdentitySettings) -> list[Statement]:
    """DML only, run as one transaction: every output moves from the old state to the new."""
    sql: list[tuple[str, str | None]] = [
        (f"DELETE FROM {t.FLAGS} WHERE uid IN {_AFFECTED_UIDS}", None),
        (f"INSERT INTO {t.FLAGS} SELECT * FROM {t.FLAGS_NEW}", None),
        (f"DELETE FROM {t.LINK_SESSIONS} WHERE {RESTAGED}", None),
        (f"INSERT INTO {t.LINK_SESSIONS} SELECT * FROM {t.SESSIONS_NEW}", None),
        (f"DELETE FROM {t.LINKS} WHERE cid IN (SELECT cid FROM {t.SCOPE0})", None),
        (f"INSERT INTO {t.LINKS} SELECT * FROM {t.LINKS_NEW}", None),
        (f"DELETE FROM {t.DEVICES} WHERE cid IN (SELECT cid FROM {t.SCOPE})", None),
        (f"INSERT INTO {t.DEVICES} SELECT * FROM {t.DEVICES_NEW}", None),
        (f"DELETE FROM {t.STITCHED} WHERE {RESTAGED}", None),
        (
            f"INSERT INTO {t.STITCHED} "
            f"{stitched_select(source.changed_date_events(settings), t.LABELS, t.FLAGS)}",
            None,
        ),
        (_DELETE_RELABELED, t.RELABELED),
        (f"INSERT INTO {t.STITCHED} SELECT * FROM {t.RELABELED}", t.RELABELED),
        (_DELETE_MAP, None),
        (_INSERT_KEPT_INTERVAL, None),
        (f"INSERT INTO {t.MAP} SELECT * FROM {t.MAP_NEW}", None),
        (f"DELETE FROM {t.JUNK} WHERE {RESTAGED}", None),
        (f"INSERT INTO {t.JUNK} {junk_select(source.changed_date_events(settings))}", None),
    ]
    return [Statement(f"identity_swap_{i:02d}", s, when) for i, (s, when) in enumerate(sql, 1)]


# ---- run state ------------------------------------------------------------------------------
WATERMARK_SQL = _ctas(t.WATERMARK, f"SELECT MAX(staged_at) AS staged_at FROM {t.STG_SHARDS}")
WATERMARK_EMPTY_SQL = _ctas(t.WATERMARK, "SELECT CAST(NULL AS TIMESTAMP) AS staged_at")
STATE_CREATE_SQL = (
    f"CREATE TABLE IF NOT EXISTS {t.STATE} "
    "(settings_hash STRING, staged_watermark TIMESTAMP, built_at TIMESTAMP, mode STRING)"
)
STATE_WRITE_SQL = [
    f"DELETE FROM {t.STATE} WHERE TRUE",
    f"INSERT INTO {t.STATE} (settings_hash, staged_watermark, built_at, mode) "
    f"SELECT @settings_hash, (SELECT MAX(staged_at) FROM {t.WATERMARK}), CURRENT_TIMESTAMP(), @mode",
]
STATE_READ_SQL = f"SELECT settings_hash, staged_watermark FROM {t.STATE}"
# Shards staged since the last identity run and up to this run's watermark.
CHANGED_SHARDS_SQL = (
    f"SELECT DISTINCT shard FROM {t.STG_SHARDS} "
    f"WHERE ((SELECT MAX(staged_watermark) FROM {t.STATE}) IS NULL "
    f"OR staged_at > (SELECT MAX(staged_watermark) FROM {t.STATE})) "
    f"AND staged_at <= (SELECT MAX(staged_at) FROM {t.WATERMARK})"
)


def state_plan() -> list[Statement]:
    return [
        Statement("identity_state_watermark", WATERMARK_SQL),
        Statement("identity_state_create", STATE_CREATE_SQL),
        Statement("identity_state_changed_shards", CHANGED_SHARDS_SQL),
        *(Statement(f"identity_state_write_{i}", s) for i, s in enumerate(STATE_WRITE_SQL, 1)),
    ]
