"""Which `stg_events` rows an identity statement reads, as a CTE named `src`.

Every statement starts `WITH src AS (...)`: all staged events on a full rebuild, or only the rows
in scope on an incremental run. `src` adds `clean_uid` (the UID with junk turned into NULL).
Incremental sources select the few columns they need, so that engines read no others.
"""

from __future__ import annotations

from cdp.config import IdentitySettings
from cdp.identity import tables as t
from cdp.identity.attribution import at_or_after
from cdp.identity.rules import clean_uid_sql


def all_events(settings: IdentitySettings) -> str:
    return f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS})"


def device_rows(settings: IdentitySettings) -> str:
    """Every event with a CID, the columns `labels_select` reads: a whole history per CID."""
    return (
        f"src AS (SELECT cid, event_ts, event_key, shard_date, {clean_uid_sql(settings)} AS clean_uid, "
        "CAST(NULL AS STRING) AS carry_uid, CAST(NULL AS STRING) AS carry_first, 0 AS kept "
        f"FROM {t.STG_EVENTS} WHERE cid IS NOT NULL)"
    )


def suffix_events(settings: IdentitySettings) -> str:
    """For each CID of `SCOPE`: its events from its cut on (all of them when `whole`).

    With what the rules need to know of the events before the cut (see `plan`). Two branches,
    so that an engine can skip the history before the earliest cut (`event_ts` bound) for the
    suffixes and read only the few `whole` CIDs' events from the rest.
    """
    after = at_or_after("s.event_ts", "s.event_key", "sc.cut_ts", "sc.cut_key")
    columns = (
        f"s.cid, s.event_ts, s.event_key, s.shard_date, {clean_uid_sql(settings, 's.uid')} "
        "AS clean_uid, sc.carry_uid, sc.first_uid AS carry_first, sc.kept"
    )
    return f"""src AS (
  SELECT {columns}
  FROM {t.STG_EVENTS} AS s
  JOIN (SELECT * FROM {t.SCOPE} WHERE NOT whole) AS sc ON sc.cid = s.cid
  WHERE s.event_ts >= (SELECT MIN(cut_ts) FROM {t.SCOPE} WHERE NOT whole) AND {after}
  UNION ALL
  SELECT {columns}
  FROM {t.STG_EVENTS} AS s
  JOIN (SELECT * FROM {t.SCOPE} WHERE whole) AS sc ON sc.cid = s.cid
)"""


def changed_date_events(settings: IdentitySettings) -> str:
    """Every event staged under one of @changed_dates."""
    return (
        f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS} "
        "WHERE shard_date IN UNNEST(@changed_dates))"
    )
