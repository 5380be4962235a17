CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope0 AS
SELECT
  cid,
  event_ts AS cut_ts,
  event_key AS cut_key
FROM (
  SELECT
    cid,
    event_ts,
    event_key
  FROM `demo-project`.cdp.stg_events
  WHERE
    shard_date IN UNNEST(@changed_dates)
  UNION ALL
  SELECT
    cid,
    event_ts,
    event_key
  FROM `demo-project`.cdp.stitched_events
  WHERE
    shard_date IN UNNEST(@changed_dates)
)
WHERE
  NOT cid IS NULL
QUALIFY
  ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts, event_key) = 1
