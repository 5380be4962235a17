CREATE OR REPLACE TEMPORARY TABLE identity__first_events AS
WITH candidates AS NOT MATERIALIZED (
  SELECT
    cid,
    event_ts,
    event_key
  FROM stg_events
  WHERE
    NOT cid IS NULL
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
