INSERT INTO identity_devices
SELECT
  *
FROM identity__devices_new
