CREATE OR REPLACE TEMPORARY TABLE identity__busy_devices AS
SELECT
  cid
FROM identity__spans
GROUP BY
  cid
HAVING
  COUNT(*) > 32
