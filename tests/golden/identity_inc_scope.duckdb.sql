CREATE OR REPLACE TABLE identity__scope AS
SELECT
  cid
FROM identity__scope0
UNION
SELECT
  l.cid
FROM (
  SELECT
    *
  FROM identity_links
  WHERE
    NOT cid IN (
      SELECT
        cid
      FROM identity__scope0
    )
  UNION ALL
  SELECT
    *
  FROM identity__links_new
) AS l
WHERE
  l.uid IN (
    SELECT
      uid
    FROM identity__changed_uids
  )
