DELETE FROM identity_devices
WHERE
  cid IN (
    SELECT
      cid
    FROM identity__scope
  )
