DELETE FROM identity_flags
WHERE
  uid IN (
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
  )
