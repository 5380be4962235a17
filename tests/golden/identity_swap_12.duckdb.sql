INSERT INTO stitched_events
SELECT
  *
FROM identity__relabeled
