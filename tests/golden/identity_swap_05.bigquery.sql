DELETE FROM `demo-project`.cdp.identity_devices
WHERE
  TRUE
