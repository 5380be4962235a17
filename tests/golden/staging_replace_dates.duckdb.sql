DELETE FROM stg_events
WHERE
  CASE
    WHEN $dates IS NULL OR ARRAY_LENGTH($dates) = 0
    THEN FALSE
    WHEN ARRAY_CONTAINS($dates, shard_date)
    THEN TRUE
    WHEN shard_date IS NULL OR ARRAY_LENGTH($dates) <> LIST_COUNT($dates)
    THEN NULL
    ELSE FALSE
  END
