INSERT INTO `demo-project`.cdp.identity_map
SELECT
  *
FROM `demo-project`.cdp.identity__map_new
