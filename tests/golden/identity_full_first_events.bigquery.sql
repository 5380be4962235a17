CREATE OR REPLACE TABLE `demo-project`.cdp.identity__first_events AS
WITH candidates AS (
  SELECT
    cid,
    event_ts,
    event_key
  FROM `demo-project`.cdp.stg_events
  WHERE
    NOT cid IS NULL
), firsts AS (
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
