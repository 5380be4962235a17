INSERT INTO `demo-project`.cdp.identity_links
SELECT
  *
FROM `demo-project`.cdp.identity__links_new
