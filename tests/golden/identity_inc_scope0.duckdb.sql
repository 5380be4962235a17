CREATE OR REPLACE TEMPORARY TABLE identity__scope0 AS
SELECT
  cid,
  first_ts AS cut_ts,
  first_key AS cut_key
FROM (
  WITH candidates AS NOT MATERIALIZED (
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
  ), firsts AS NOT MATERIALIZED (
    SELECT
      cid,
      MIN(event_ts) AS first_ts
    FROM candidates
    GROUP BY
      cid
  )
  SELECT
    f.cid,
    f.first_ts,
    MIN(c.event_key) AS first_key
  FROM firsts AS f
  JOIN candidates AS c
    ON c.cid = f.cid AND c.event_ts = f.first_ts
  GROUP BY
    f.cid,
    f.first_ts
)
