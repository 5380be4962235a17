CREATE OR REPLACE TEMPORARY TABLE identity__scope0 AS
SELECT
  cid,
  event_ts AS cut_ts,
  event_key AS cut_key
FROM (
  SELECT
    cid,
    event_ts,
    event_key
  FROM stg_events
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
  UNION ALL
  SELECT
    cid,
    event_ts,
    event_key
  FROM stitched_events
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
)
WHERE
  NOT cid IS NULL
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST) = 1
