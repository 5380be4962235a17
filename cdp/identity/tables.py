"""Table names owned by the identity step (authored names; the backend resolves them)."""

from __future__ import annotations

from typing import Final

STG_EVENTS: Final = "stg_events"
STG_SHARDS: Final = "stg_shards"

LINKS: Final = "identity_links"
# Per (cid, uid, session, shard date): what `identity_links` aggregates. Staging replaces whole
# dates, so an incremental run swaps these rows by date and re-aggregates only its CIDs' links.
LINK_SESSIONS: Final = "identity_link_sessions"
FLAGS: Final = "identity_flags"
DEVICES: Final = "identity_devices"
MAP: Final = "identity_map"
STITCHED: Final = "stitched_events"
JUNK: Final = "identity_junk"
STATE: Final = "identity_state"
DAILY: Final = "identity_daily"
CRM: Final = "crm_customers"
PROFILES: Final = "profiles"

# Scratch tables, dropped after each run. A full rebuild's:
SPANS: Final = "identity__spans"  # every CID's intervals from its logins, to the next start
FIRST_EVENTS: Final = "identity__first_events"  # every CID's first event
BUSY: Final = "identity__busy_devices"  # CIDs with too many spans to look up (usually none)
BUSY_LABELS: Final = "identity__busy_labels"  # their events' decisions, from the per-event pass
# An incremental run's, built before the transaction that applies them (see `plan`):
SCOPE0: Final = "identity__scope0"  # CIDs with an event on a changed date, and the earliest one
SESSIONS_NEW: Final = "identity__sessions_new"  # LINK_SESSIONS rows of the changed dates
LINKS_NEW: Final = "identity__links_new"  # the links of SCOPE0, recomputed
AFFECTED_UIDS: Final = "identity__affected_uids"  # UIDs on those links, before or after
FLAGS_NEW: Final = "identity__flags_new"  # the flags of the UIDs on those links, recomputed
CHANGED_UIDS: Final = "identity__changed_uids"  # UIDs whose suspicious status flipped
DEVICES_NEW: Final = "identity__devices_new"  # devices of SCOPE0 + CIDs linked to CHANGED_UIDS
SCOPE: Final = "identity__scope"  # those CIDs, each recomputed whole or from its cut on
HISTORY: Final = "identity__history"  # rows of SCOPE on other dates (whole, or from the cut)
LABELS: Final = "identity__labels"  # events (of SCOPE, from the cut on) and their attribution
MAP_NEW: Final = "identity__map_new"  # the intervals of SCOPE that start at or after the cut
RELABELED: Final = "identity__relabeled"  # rows of other dates whose attribution changed
WATERMARK: Final = "identity__watermark"
SCRATCH: Final = (SPANS, FIRST_EVENTS, BUSY, BUSY_LABELS, SCOPE0, SESSIONS_NEW, LINKS_NEW,
                  AFFECTED_UIDS, FLAGS_NEW, CHANGED_UIDS, DEVICES_NEW, SCOPE, HISTORY, LABELS,
                  MAP_NEW, RELABELED, WATERMARK)  # fmt: skip
