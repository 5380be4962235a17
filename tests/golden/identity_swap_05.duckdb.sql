DELETE FROM identity_devices
WHERE
  TRUE
