DELETE FROM stitched_events
WHERE
  ARRAY_CONTAINS($changed_dates, shard_date)
