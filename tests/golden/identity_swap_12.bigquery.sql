INSERT INTO `demo-project`.cdp.stitched_events
SELECT
  *
FROM `demo-project`.cdp.identity__relabeled
