DELETE FROM identity_link_sessions
WHERE
  ARRAY_CONTAINS($changed_dates, shard_date)
