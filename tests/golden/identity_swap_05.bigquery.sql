DELETE FROM `demo-project`.cdp.identity_links
WHERE
  cid IN (
    SELECT
      cid
    FROM `demo-project`.cdp.identity__scope0
  )
