DELETE FROM `demo-project`.cdp.identity_devices
WHERE
  cid IN (
    SELECT
      cid
    FROM `demo-project`.cdp.identity__scope
  )
