INSERT INTO `demo-project`.cdp.identity_devices
SELECT
  *
FROM `demo-project`.cdp.identity__devices_new
