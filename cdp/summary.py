"""Plain summaries of what is in the warehouse, for the CLI, the demo and flow artifacts."""

from __future__ import annotations

from typing import Any

from cdp.backends.base import Backend

_STAGED = """
SELECT
  COUNT(*) AS events,
  COUNT(DISTINCT event_date) AS days,
  COUNT(DISTINCT cid) AS cids,
  COUNT(DISTINCT session_key) AS sessions,
  SAFE_DIVIDE(COUNTIF(uid IS NOT NULL), COUNT(*)) AS share_with_uid,
  CAST(COUNTIF(is_provisional) AS INT64) AS provisional_events,
  MIN(event_date) AS first_day,
  MAX(event_date) AS last_day
FROM stg_events
"""


def staging_summary(backend: Backend) -> dict[str, Any]:
    """Events, days, CIDs and the share of events carrying a UID in `stg_events`."""
    rows = backend.query(_STAGED).to_pylist()
    return rows[0] if rows else {}
