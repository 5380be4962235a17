"""Table names owned by the identity step (authored names; the backend resolves them)."""

from __future__ import annotations

from typing import Final

STG_EVENTS: Final = "stg_events"
STG_SHARDS: Final = "stg_shards"

LINKS: Final = "identity_links"
FLAGS: Final = "identity_flags"
DEVICES: Final = "identity_devices"
MAP: Final = "identity_map"
STITCHED: Final = "stitched_events"
JUNK: Final = "identity_junk"
STATE: Final = "identity_state"
DAILY: Final = "identity_daily"
CRM: Final = "crm_customers"
PROFILES: Final = "profiles"

# Scratch tables of an incremental run: built first, swapped into the outputs in one transaction.
SCOPE0: Final = "identity__scope0"  # CIDs with events in the changed shard dates (old or new)
SCOPE: Final = "identity__scope"  # SCOPE0 + CIDs linked to a UID whose suspicious status changed
CHANGED_UIDS: Final = "identity__changed_uids"
WATERMARK: Final = "identity__watermark"
LINKS_NEW: Final = "identity__links_new"
FLAGS_NEW: Final = "identity__flags_new"
DEVICES_NEW: Final = "identity__devices_new"
STITCHED_NEW: Final = "identity__stitched_new"
MAP_NEW: Final = "identity__map_new"
JUNK_NEW: Final = "identity__junk_new"
SCRATCH: Final = (SCOPE0, SCOPE, CHANGED_UIDS, WATERMARK, LINKS_NEW, FLAGS_NEW, DEVICES_NEW,
                  STITCHED_NEW, MAP_NEW, JUNK_NEW)  # fmt: skip
