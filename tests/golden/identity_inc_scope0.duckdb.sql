CREATE OR REPLACE TEMPORARY TABLE identity__scope0 AS
WITH changed AS NOT MATERIALIZED (
  SELECT
    cid,
    event_ts,
    event_key
  FROM stg_events
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date) AND NOT cid IS NULL
  UNION ALL
  SELECT
    cid,
    event_ts,
    event_key
  FROM stitched_events
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date) AND NOT cid IS NULL
), cuts AS NOT MATERIALIZED (
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
