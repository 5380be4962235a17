CREATE OR REPLACE TEMPORARY TABLE identity__affected_uids AS
SELECT
  uid
FROM identity_links
WHERE
  cid IN (
    SELECT
      cid
    FROM identity__scope0
  )
UNION
SELECT
  uid
FROM identity__links_new
