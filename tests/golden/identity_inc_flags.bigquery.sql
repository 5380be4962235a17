CREATE OR REPLACE TABLE `demo-project`.cdp.identity__flags_new AS
SELECT
  uid,
  COUNT(*) AS n_cids,
  COUNT(*) > @max_devices_per_user AS is_suspicious,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  SUM(events) AS events
FROM (
  SELECT
    *
  FROM `demo-project`.cdp.identity_links
  WHERE
    uid IN (
      SELECT
        uid
      FROM `demo-project`.cdp.identity__affected_uids
    )
    AND NOT cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope0
    )
  UNION ALL
  SELECT
    *
  FROM `demo-project`.cdp.identity__links_new
) AS l
GROUP BY
  uid
