CREATE OR REPLACE TABLE identity_devices AS
SELECT
  l.cid,
  COUNT(*) AS n_uids_seen,
  CAST(COUNT_IF(f.uid IS NULL) AS BIGINT) AS n_uids,
  CAST(COUNT_IF(f.uid IS NULL) AS BIGINT) > $max_users_per_device AS is_shared,
  MIN(l.first_seen) AS first_login,
  MAX(l.last_seen) AS last_login
FROM identity_links AS l
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM identity_flags
  WHERE
    is_suspicious
) AS f
  ON f.uid = l.uid
GROUP BY
  l.cid
