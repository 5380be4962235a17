CREATE OR REPLACE TABLE identity_links AS
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS BIGINT) AS events,
  COUNT(DISTINCT ga_session_id) AS sessions
FROM identity_link_sessions AS s
GROUP BY
  cid,
  uid
