CREATE OR REPLACE TEMPORARY TABLE identity__links_new AS
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS BIGINT) AS events,
  COUNT(DISTINCT ga_session_id) AS sessions
FROM (
  SELECT
    *
  FROM identity_link_sessions
  WHERE
    cid IN (
      SELECT
        cid
      FROM identity__scope0
    )
    AND NOT ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
  UNION ALL
  SELECT
    *
  FROM identity__sessions_new
) AS s
GROUP BY
  cid,
  uid
