INSERT INTO `demo-project`.cdp.identity_junk
SELECT
  *
FROM `demo-project`.cdp.identity__junk_new
