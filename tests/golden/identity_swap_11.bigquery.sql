DELETE FROM `demo-project`.cdp.stitched_events AS s
WHERE
  s.event_key IN (
    SELECT
      event_key
    FROM `demo-project`.cdp.identity__relabeled
  )
  AND EXISTS(
    SELECT
      1
    FROM `demo-project`.cdp.identity__relabeled AS r
    WHERE
      r.event_key = s.event_key
      AND r.event_ts = s.event_ts
      AND r.shard_date = s.shard_date
  )
