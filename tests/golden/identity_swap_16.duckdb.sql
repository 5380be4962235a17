DELETE FROM identity_junk
WHERE
  ARRAY_CONTAINS($changed_dates, shard_date)
