CREATE OR REPLACE TABLE `demo-project`.cdp.identity__busy_devices AS
SELECT
  cid
FROM `demo-project`.cdp.identity__spans
GROUP BY
  cid
HAVING
  COUNT(*) > 32
