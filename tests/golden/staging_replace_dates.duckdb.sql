DELETE FROM stg_events
WHERE
  ARRAY_CONTAINS($dates, shard_date)
