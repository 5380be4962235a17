"""Which `stg_events` rows an identity statement reads, as a CTE named `src`.

Every statement starts `WITH src AS (...)`: all staged events on a full rebuild, or only the rows
in scope on an incremental run. `src` adds `clean_uid` (the UID with junk turned into NULL).
"""

from __future__ import annotations

from cdp.config import IdentitySettings
from cdp.identity import tables as t
from cdp.identity.rules import clean_uid_sql


def all_events(settings: IdentitySettings) -> str:
    return f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS})"


def device_events(settings: IdentitySettings, scope: str) -> str:
    """Every event (whole history) of the CIDs listed in the table `scope`."""
    return (
        f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS} "
        f"WHERE cid IN (SELECT cid FROM {scope}))"
    )


def scoped_events(settings: IdentitySettings, scope: str) -> str:
    """Events of the CIDs in `scope`, plus the consent-denied rows that may have changed.

    A consent-denied row (no CID) depends only on itself and on its own UID's suspicious status,
    so it is recomputed when its shard date was restaged or that status changed.
    """
    return (
        f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS} "
        f"WHERE cid IN (SELECT cid FROM {scope}) "
        "OR (cid IS NULL AND (shard_date IN UNNEST(@changed_dates) "
        f"OR uid IN (SELECT uid FROM {t.CHANGED_UIDS}))))"
    )


def changed_date_events(settings: IdentitySettings) -> str:
    """Every event staged under one of @changed_dates."""
    return (
        f"src AS (SELECT *, {clean_uid_sql(settings)} AS clean_uid FROM {t.STG_EVENTS} "
        "WHERE shard_date IN UNNEST(@changed_dates))"
    )
