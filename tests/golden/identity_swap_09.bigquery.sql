DELETE FROM `demo-project`.cdp.identity_map
WHERE
  cid IN (
    SELECT
      cid
    FROM `demo-project`.cdp.identity__scope
  )
