CREATE OR REPLACE TABLE `demo-project`.cdp.identity__affected_uids AS
SELECT
  uid
FROM `demo-project`.cdp.identity_links
WHERE
  cid IN (
    SELECT
      cid
    FROM `demo-project`.cdp.identity__scope0
  )
UNION DISTINCT
SELECT
  uid
FROM `demo-project`.cdp.identity__links_new
