DELETE FROM `demo-project`.cdp.stg_events
WHERE
  shard_date IN UNNEST(@dates)
