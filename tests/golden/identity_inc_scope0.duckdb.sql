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
    CASE
      WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
      THEN FALSE
      WHEN ARRAY_CONTAINS($changed_dates, shard_date)
      THEN TRUE
      WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
      THEN NULL
      ELSE FALSE
    END
  UNION ALL
  SELECT
    cid,
    event_ts,
    event_key
  FROM stitched_events
  WHERE
    CASE
      WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
      THEN FALSE
      WHEN ARRAY_CONTAINS($changed_dates, shard_date)
      THEN TRUE
      WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
      THEN NULL
      ELSE FALSE
    END
)
WHERE
  NOT cid IS NULL
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST) = 1
