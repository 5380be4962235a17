"""Tables owned by delivery (authored names; the backend resolves them) and their DDL.

- `delivery_state`: what each destination holds, per key, as far as the product knows.
  status: sent | pending (journey event recorded, outcome not yet known) | failed (retried
  next run) | dead (an upsert given up on; retried only when the payload changes, removed if
  an earlier one was delivered) | stuck (a removal given up on: the row stays; touched again
  only by a changed payload) | exited (flag removal done) | uncertain (journey event may or
  may not have entered; never re-fired automatically).
- `sync_log`: one row per row-level outcome of every run (append-only audit).
- `dead_letters`: rows given up on after `max_attempts`, and uncertain journey events.
- `delivery_targets`: what each destination name delivers to (see `targets`).
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from cdp.backends.base import Backend

STATE: Final = "delivery_state"
SYNC_LOG: Final = "sync_log"
DEAD_LETTERS: Final = "dead_letters"
TARGETS: Final = "delivery_targets"
PLAN: Final = "delivery__plan"  # scratch: the current destination's diff
OUTCOMES: Final = "delivery__outcomes"  # scratch: one batch's outcomes before they are applied

_TS = pa.timestamp("us", tz="UTC")

STATE_SCHEMA: Final = pa.schema(
    [
        ("destination", pa.string()),
        ("key", pa.string()),
        ("payload_hash", pa.string()),
        ("status", pa.string()),
        ("remote_id", pa.string()),  # CampaignMember Id / journey eventInstanceId
        ("owned", pa.bool_()),  # mirror mode: this product created the row
        ("attempts", pa.int64()),  # consecutive failed attempts (reset on success)
        ("last_error", pa.string()),
        ("first_sent_at", _TS),
        ("last_sent_at", _TS),
        ("updated_at", _TS),
        ("run_id", pa.string()),
    ]
)

SYNC_LOG_SCHEMA: Final = pa.schema(
    [
        ("run_id", pa.string()),
        ("destination", pa.string()),
        ("key", pa.string()),
        ("operation", pa.string()),
        ("status", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("attempt", pa.int64()),
        ("logged_at", _TS),
    ]
)

DEAD_LETTERS_SCHEMA: Final = pa.schema(
    [
        ("run_id", pa.string()),
        ("destination", pa.string()),
        ("key", pa.string()),
        ("operation", pa.string()),
        ("payload", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("attempts", pa.int64()),
        ("dead_at", _TS),
    ]
)

TARGETS_SCHEMA: Final = pa.schema(
    [
        ("destination", pa.string()),
        ("type", pa.string()),
        ("target", pa.string()),  # DE key, Campaign Id or journey event definition key
        ("key_fields", pa.string()),  # JSON list: the DE primary key, or the member key field
        ("recorded_at", _TS),
    ]
)

_SQL_TYPES = {pa.string(): "STRING", pa.bool_(): "BOOL", pa.int64(): "INT64", _TS: "TIMESTAMP"}


def ddl(table: str, schema: pa.Schema) -> str:
    cols = ", ".join(f"{f.name} {_SQL_TYPES[f.type]}" for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"


def ensure_tables(backend: Backend) -> None:
    for table, schema in (
        (STATE, STATE_SCHEMA),
        (SYNC_LOG, SYNC_LOG_SCHEMA),
        (DEAD_LETTERS, DEAD_LETTERS_SCHEMA),
        (TARGETS, TARGETS_SCHEMA),
    ):
        if not backend.table_exists(table):
            backend.execute(ddl(table, schema))
