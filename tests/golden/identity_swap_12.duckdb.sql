DELETE FROM stitched_events AS s
WHERE
  s.cid IS NULL
  AND s.uid IN (
    SELECT
      uid
    FROM identity__changed_uids
  )
  AND EXISTS(
    SELECT
      1
    FROM identity__relabeled AS r
    WHERE
      r.cid IS NULL AND r.event_key = s.event_key AND r.shard_date = s.shard_date
  )
