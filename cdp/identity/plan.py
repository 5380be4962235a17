"""The statements of a full rebuild and of an incremental run, named for golden snapshots.

Full rebuild: each output is created from `stg_events` (CREATE OR REPLACE ... AS SELECT).

Incremental run over the restaged shard dates @changed_dates (staging replaces whole dates):

1. SCOPE0  = CIDs with an event in a changed date, before (stitched_events) or after (stg_events).
   Only their links can change; their attribution must be recomputed from their whole history
   (backfill makes an event depend on the CID's first login, however far in the future).
2. LINKS_NEW = links of SCOPE0 from their whole history; FLAGS_NEW from the merged links.
3. CHANGED_UIDS = UIDs whose suspicious status flipped; SCOPE = SCOPE0 + every CID linked to one
   (their devices' shared status and their events' attribution depend on it).
4. DEVICES_NEW, STITCHED_NEW, MAP_NEW, JUNK_NEW for the scope; then one transaction swaps the
   scoped rows of every output. The result equals a full rebuild (property-tested).

Scratch tables are ordinary product tables (`identity__*`): BigQuery transactions cannot create
permanent tables, so the scratch work happens before the transaction, which only runs DML.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdp.config import IdentitySettings
from cdp.identity import source
from cdp.identity import tables as t
from cdp.identity.attribution import map_select, stitched_select
from cdp.identity.links import devices_select, flags_select, junk_select, links_select

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


@dataclass(frozen=True)
class Statement:
    name: str  # golden snapshot name, `identity_*`
    sql: str


def _ctas(table: str, select: str) -> str:
    layout = _LAYOUT.get(table, "")
    return f"CREATE OR REPLACE TABLE {table} {layout} AS {select}"


def _replace_all(table: str, scratch: str) -> list[str]:
    return [f"DELETE FROM {table} WHERE TRUE", f"INSERT INTO {table} SELECT * FROM {scratch}"]


def full_plan(settings: IdentitySettings) -> list[Statement]:
    src = source.all_events(settings)
    return [
        Statement("identity_full_links", _ctas(t.LINKS, links_select(src))),
        Statement("identity_full_flags", _ctas(t.FLAGS, flags_select(t.LINKS))),
        Statement("identity_full_devices", _ctas(t.DEVICES, devices_select(t.LINKS, t.FLAGS))),
        Statement(
            "identity_full_stitched", _ctas(t.STITCHED, stitched_select(src, t.FLAGS, t.DEVICES))
        ),
        Statement("identity_full_map", _ctas(t.MAP, map_select(src, t.FLAGS, t.DEVICES))),
        Statement("identity_full_junk", _ctas(t.JUNK, junk_select(src))),
    ]


def incremental_prepare(settings: IdentitySettings) -> list[Statement]:
    """Scratch tables; no output changes yet."""
    scoped = source.scoped_events(settings, t.SCOPE)
    return [
        Statement(
            "identity_inc_scope0",
            _ctas(
                t.SCOPE0,
                f"SELECT DISTINCT cid FROM (SELECT cid FROM {t.STG_EVENTS} WHERE shard_date IN UNNEST(@changed_dates) "
                f"UNION ALL SELECT cid FROM {t.STITCHED} WHERE shard_date IN UNNEST(@changed_dates)) "
                "WHERE cid IS NOT NULL",
            ),
        ),
        Statement(
            "identity_inc_links",
            _ctas(t.LINKS_NEW, links_select(source.device_events(settings, t.SCOPE0))),
        ),
        Statement("identity_inc_flags", _ctas(t.FLAGS_NEW, flags_select(_MERGED_LINKS))),
        Statement(
            "identity_inc_changed_uids",
            _ctas(
                t.CHANGED_UIDS,
                f"SELECT COALESCE(o.uid, n.uid) AS uid FROM {t.FLAGS} AS o FULL OUTER JOIN {t.FLAGS_NEW} AS n "
                "ON n.uid = o.uid WHERE COALESCE(o.is_suspicious, FALSE) != COALESCE(n.is_suspicious, FALSE)",
            ),
        ),
        Statement(
            "identity_inc_scope",
            _ctas(
                t.SCOPE,
                f"SELECT cid FROM {t.SCOPE0} UNION DISTINCT SELECT l.cid FROM {_MERGED_LINKS} AS l "
                f"WHERE l.uid IN (SELECT uid FROM {t.CHANGED_UIDS})",
            ),
        ),
        Statement(
            "identity_inc_devices", _ctas(t.DEVICES_NEW, devices_select(_MERGED_LINKS, t.FLAGS_NEW))
        ),
        Statement(
            "identity_inc_stitched",
            _ctas(t.STITCHED_NEW, stitched_select(scoped, t.FLAGS_NEW, t.DEVICES_NEW)),
        ),
        Statement(
            "identity_inc_map", _ctas(t.MAP_NEW, map_select(scoped, t.FLAGS_NEW, t.DEVICES_NEW))
        ),
        Statement(
            "identity_inc_junk",
            _ctas(t.JUNK_NEW, junk_select(source.changed_date_events(settings))),
        ),
    ]


def incremental_swap() -> list[Statement]:
    """DML only, run as one transaction: every output moves from the old state to the new."""
    in_scope0 = f"cid IN (SELECT cid FROM {t.SCOPE0})"
    in_scope = f"cid IN (SELECT cid FROM {t.SCOPE})"
    consent_changed = (
        "(cid IS NULL AND (shard_date IN UNNEST(@changed_dates) "
        f"OR uid IN (SELECT uid FROM {t.CHANGED_UIDS})))"
    )
    sql = [
        f"DELETE FROM {t.LINKS} WHERE {in_scope0}",
        f"INSERT INTO {t.LINKS} SELECT * FROM {t.LINKS_NEW}",
        *_replace_all(t.FLAGS, t.FLAGS_NEW),
        *_replace_all(t.DEVICES, t.DEVICES_NEW),
        f"DELETE FROM {t.STITCHED} WHERE {in_scope} OR {consent_changed}",
        f"INSERT INTO {t.STITCHED} SELECT * FROM {t.STITCHED_NEW}",
        f"DELETE FROM {t.MAP} WHERE {in_scope}",
        f"INSERT INTO {t.MAP} SELECT * FROM {t.MAP_NEW}",
        f"DELETE FROM {t.JUNK} WHERE shard_date IN UNNEST(@changed_dates)",
        f"INSERT INTO {t.JUNK} SELECT * FROM {t.JUNK_NEW}",
    ]
    return [Statement(f"identity_swap_{i:02d}", s) for i, s in enumerate(sql, 1)]


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
