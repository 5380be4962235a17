DELETE FROM stg_events
WHERE
  ARRAY_CONTAINS(COALESCE($dates, []), shard_date)
