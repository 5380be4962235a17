INSERT INTO `demo-project`.cdp.identity_flags
SELECT
  *
FROM `demo-project`.cdp.identity__flags_new
