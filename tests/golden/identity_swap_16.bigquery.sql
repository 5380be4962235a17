DELETE FROM `demo-project`.cdp.identity_junk
WHERE
  shard_date IN UNNEST(@changed_dates)
