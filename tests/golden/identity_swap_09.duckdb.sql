DELETE FROM identity_map
WHERE
  cid IN (
    SELECT
      cid
    FROM identity__scope
  )
