CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope0 AS
WITH changed AS (
  SELECT
    cid,
    event_ts,
    event_key
  FROM `demo-project`.cdp.stg_events
  WHERE
    shard_date IN UNNEST(@changed_dates) AND NOT cid IS NULL
  UNION ALL
  SELECT
    cid,
    event_ts,
    event_key
  FROM `demo-project`.cdp.stitched_events
  WHERE
    shard_date IN UNNEST(@changed_dates) AND NOT cid IS NULL
), cuts AS (
  SELECT
    cid,
    MIN(event_ts) AS cut_ts
  FROM changed
  GROUP BY
    cid
)
SELECT
  c.cid,
  c.cut_ts,
  MIN(e.event_key) AS cut_key
FROM cuts AS c
JOIN changed AS e
  ON e.cid = c.cid AND e.event_ts = c.cut_ts
GROUP BY
  c.cid,
  c.cut_ts
