CREATE OR REPLACE TABLE `demo-project`.cdp.identity_links
CLUSTER BY cid, uid AS
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS INT64) AS events,
  COUNT(DISTINCT ga_session_id) AS sessions
FROM `demo-project`.cdp.identity_link_sessions AS s
GROUP BY
  cid,
  uid
