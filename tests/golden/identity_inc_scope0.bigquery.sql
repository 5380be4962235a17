CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope0 AS
SELECT DISTINCT
  cid
FROM (
  SELECT
    cid
  FROM `demo-project`.cdp.stg_events
  WHERE
    shard_date IN UNNEST(@changed_dates)
  UNION ALL
  SELECT
    cid
  FROM `demo-project`.cdp.stitched_events
  WHERE
    shard_date IN UNNEST(@changed_dates)
)
WHERE
  NOT cid IS NULL
