DELETE FROM identity_links
WHERE
  cid IN (
    SELECT
      cid
    FROM identity__scope0
  )
