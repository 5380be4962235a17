DELETE FROM identity_junk
WHERE
  ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
