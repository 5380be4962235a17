CREATE OR REPLACE TEMPORARY TABLE identity__flags_new AS
SELECT
  uid,
  COUNT(*) AS n_cids,
  COUNT(*) > $max_devices_per_user AS is_suspicious,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  SUM(events) AS events
FROM (
  SELECT
    *
  FROM identity_links
  WHERE
    uid IN (
      SELECT
        uid
      FROM identity__affected_uids
    )
    AND NOT cid IN (
      SELECT
        cid
      FROM identity__scope0
    )
  UNION ALL
  SELECT
    *
  FROM identity__links_new
) AS l
GROUP BY
  uid
