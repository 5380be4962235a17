CREATE OR REPLACE TEMPORARY TABLE identity__first_events AS
WITH first_ts AS NOT MATERIALIZED (
  SELECT
    cid,
    MIN(event_ts) AS first_ts
  FROM stg_events
  WHERE
    NOT cid IS NULL
  GROUP BY
    cid
)
SELECT
  e.cid,
  f.first_ts,
  MIN(e.event_key) AS first_key
FROM stg_events AS e
JOIN first_ts AS f
  ON f.cid = e.cid AND f.first_ts = e.event_ts
GROUP BY
  e.cid,
  f.first_ts
