DELETE FROM identity_link_sessions
WHERE
  ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
