CREATE OR REPLACE TABLE `demo-project`.cdp.identity__links_new AS
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS INT64) AS events,
  COUNT(DISTINCT ga_session_id) AS sessions
FROM (
  SELECT
    *
  FROM `demo-project`.cdp.identity_link_sessions
  WHERE
    cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope0
    )
    AND NOT shard_date IN UNNEST(@changed_dates)
  UNION ALL
  SELECT
    *
  FROM `demo-project`.cdp.identity__sessions_new
) AS s
GROUP BY
  cid,
  uid
