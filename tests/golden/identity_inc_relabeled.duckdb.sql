CREATE OR REPLACE TEMPORARY TABLE identity__relabeled AS
SELECT
  h.*
  EXCLUDE (stitched_uid, attribution, carry_uid, carry_first, kept),
  l.stitched_uid,
  l.attribution
FROM identity__history AS h
JOIN identity__labels AS l
  ON l.event_key = h.event_key
  AND l.event_ts = h.event_ts
  AND l.shard_date = h.shard_date
WHERE
  h.stitched_uid IS DISTINCT FROM l.stitched_uid OR h.attribution <> l.attribution
