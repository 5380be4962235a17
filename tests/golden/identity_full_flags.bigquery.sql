CREATE OR REPLACE TABLE `demo-project`.cdp.identity_flags AS
SELECT
  uid,
  COUNT(*) AS n_cids,
  COUNT(*) > @max_devices_per_user AS is_suspicious,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  SUM(events) AS events
FROM `demo-project`.cdp.identity_links AS l
GROUP BY
  uid
