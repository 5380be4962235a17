DELETE FROM identity_link_sessions
WHERE
  CASE
    WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
    THEN FALSE
    WHEN ARRAY_CONTAINS($changed_dates, shard_date)
    THEN TRUE
    WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
    THEN NULL
    ELSE FALSE
  END
