CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope AS
SELECT
  cid
FROM `demo-project`.cdp.identity__scope0
UNION DISTINCT
SELECT
  l.cid
FROM (
  SELECT
    *
  FROM `demo-project`.cdp.identity_links
  WHERE
    NOT cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope0
    )
  UNION ALL
  SELECT
    *
  FROM `demo-project`.cdp.identity__links_new
) AS l
WHERE
  l.uid IN (
    SELECT
      uid
    FROM `demo-project`.cdp.identity__changed_uids
  )
