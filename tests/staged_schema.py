"""The staged columns, for tests that build `stg_events` / `stitched_events` rows directly.

One schema for the identity and segment tests, in staging's column order (a test in
`test_staging.py` keeps the names in step with the staging SQL). `event_ts` is an absolute time,
as in BigQuery. `event_key` is text here, readable in assertions; staging writes an INT64
fingerprint, and the SQL downstream only compares and orders keys, so either works.
"""

from __future__ import annotations

import pyarrow as pa

STG_EVENTS_SCHEMA = pa.schema(
    [
        ("event_key", pa.string()),
        ("event_ts", pa.timestamp("us", tz="UTC")),
        ("event_timestamp", pa.int64()),
        ("event_date", pa.date32()),
        ("shard_date", pa.string()),
        ("is_provisional", pa.bool_()),
        ("event_name", pa.string()),
        ("cid", pa.string()),
        ("uid", pa.string()),
        ("ga_session_id", pa.int64()),
        ("ga_session_number", pa.int64()),
        ("page_location", pa.string()),
        ("page_title", pa.string()),
        ("page_referrer", pa.string()),
        ("engagement_time_msec", pa.int64()),
        ("analytics_storage", pa.string()),
        ("ads_storage", pa.string()),
        ("device_category", pa.string()),
        ("country", pa.string()),
        ("city", pa.string()),
        ("platform", pa.string()),
        ("traffic_source", pa.string()),
        ("traffic_medium", pa.string()),
        ("traffic_campaign", pa.string()),
        ("session_key", pa.string()),
        ("page_path", pa.string()),
    ]
)

# Stitched rows: the staged columns, the example extra params, and identity's two columns.
STITCHED_EVENTS_SCHEMA = pa.schema(
    [
        *STG_EVENTS_SCHEMA,
        ("tab_name", pa.string()),
        ("model", pa.string()),
        ("stitched_uid", pa.string()),
        ("attribution", pa.string()),
    ]
)
