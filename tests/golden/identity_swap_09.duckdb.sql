DELETE FROM stitched_events
WHERE
  ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
