"""Which staged rows an identity statement reads.

Most statements start `WITH src AS (...)`: all staged events on a full rebuild, or only the rows
in scope on an incremental run. `src` adds `clean_uid` (the UID with junk turned into NULL).
Incremental sources select the few columns they need, so that engines read no others; the one
exception, `history_rows`, reads whole `stitched_events` rows once, because they are re-inserted.
"""

from __future__ import annotations

from cdp.config import IdentitySettings
from cdp.ga4.staging import session_key_sql
from cdp.identity import tables as t
from cdp.identity.attribution import at_or_after
from cdp.identity.rules import clean_uid_sql

# The shard dates an incremental run recomputes: staging replaced them since the last run.
RESTAGED = "shard_date IN UNNEST(@changed_dates)"
# A `stitched_events` row `s`, with `session_key` derived as staging derives it rather than read:
# at 10M events, fetching a few thousand scattered values of that near-unique string cost DuckDB
# about as much as the other 27 columns together.
_WIDE = f"s.* REPLACE ({session_key_sql('s.cid', 's.ga_session_id')} AS session_key)"
# What `labels_select` needs to know of a CID's events before its cut, from its `SCOPE` row.
_CARRY = "sc.carry_uid, sc.first_uid AS carry_first, sc.kept"


def all_events(settings: IdentitySettings) -> str:
    return f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS})"


def busy_device_rows(settings: IdentitySettings, busy: str) -> str:
    """The events of the CIDs in `busy`, each a whole history, as `labels_select` reads them."""
    return f"""src AS (
  SELECT
    cid, event_ts, event_key, shard_date, {clean_uid_sql(settings)} AS clean_uid,
    CAST(NULL AS STRING) AS carry_uid, CAST(NULL AS STRING) AS carry_first, 0 AS kept
  FROM {t.STG_EVENTS}
  WHERE cid IN (SELECT cid FROM {busy})
)"""


def history_rows() -> str:
    """The `stitched_events` rows of `SCOPE` on dates not restaged: whole CIDs' and suffixes'.

    Wide rows, read once: they feed the labels (narrow columns) and are re-inserted where their
    attribution changed. On DuckDB, where CIDs are not clustered, fetching a few thousand
    scattered rows costs nearly a scan of every column, so it is done once, not twice. On those
    dates `stitched_events` holds exactly the `stg_events` rows (plus their attribution): every
    date staging replaced since the last run is in @changed_dates (see `build_identity`).
    """
    after = at_or_after("s.event_ts", "s.event_key", "sc.cut_ts", "sc.cut_key")
    other_dates = f"NOT (s.{RESTAGED})"
    return f"""
SELECT {_WIDE}, {_CARRY}
FROM {t.STITCHED} AS s
JOIN (SELECT * FROM {t.SCOPE} WHERE NOT whole) AS sc ON sc.cid = s.cid
WHERE s.event_ts >= (SELECT MIN(cut_ts) FROM {t.SCOPE} WHERE NOT whole) AND {after}
  AND {other_dates}
UNION ALL
SELECT {_WIDE}, {_CARRY}
FROM {t.STITCHED} AS s
JOIN (SELECT * FROM {t.SCOPE} WHERE whole) AS sc ON sc.cid = s.cid
WHERE {other_dates}
"""


def suffix_events(settings: IdentitySettings) -> str:
    """For each CID of `SCOPE`: its events from its cut on (all of them when `whole`).

    With what the rules need to know of the events before the cut (see `plan`). The restaged
    dates' events come from `stg_events` (read by date), the others from `HISTORY`.
    """
    after = at_or_after("s.event_ts", "s.event_key", "sc.cut_ts", "sc.cut_key")
    return f"""src AS (
  SELECT
    s.cid, s.event_ts, s.event_key, s.shard_date, {clean_uid_sql(settings, "s.uid")} AS clean_uid,
    {_CARRY}
  FROM {t.STG_EVENTS} AS s
  JOIN {t.SCOPE} AS sc ON sc.cid = s.cid
  WHERE s.{RESTAGED} AND (sc.whole OR {after})
  UNION ALL
  SELECT
    cid, event_ts, event_key, shard_date, {clean_uid_sql(settings)} AS clean_uid,
    carry_uid, carry_first, kept
  FROM {t.HISTORY}
)"""


def changed_date_events(settings: IdentitySettings) -> str:
    """Every event staged under one of @changed_dates."""
    return (
        f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS} "
        f"WHERE {RESTAGED})"
    )
