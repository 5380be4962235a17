DELETE FROM `demo-project`.cdp.stitched_events
WHERE
  shard_date IN UNNEST(@changed_dates)
