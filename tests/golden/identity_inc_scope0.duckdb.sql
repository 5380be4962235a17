CREATE OR REPLACE TABLE identity__scope0 AS
SELECT DISTINCT
  cid
FROM (
  SELECT
    cid
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
    cid
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
