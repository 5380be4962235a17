CREATE OR REPLACE TABLE `demo-project`.cdp.identity_devices AS
SELECT
  l.cid,
  COUNT(*) AS n_uids_seen,
  COUNTIF(NOT f.is_suspicious) AS n_uids,
  COUNTIF(NOT f.is_suspicious) > @max_users_per_device AS is_shared,
  MIN(l.first_seen) AS first_login,
  MAX(l.last_seen) AS last_login
FROM `demo-project`.cdp.identity_links AS l
JOIN `demo-project`.cdp.identity_flags AS f
  ON f.uid = l.uid
GROUP BY
  l.cid
