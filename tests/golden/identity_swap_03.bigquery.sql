DELETE FROM `demo-project`.cdp.identity_link_sessions
WHERE
  shard_date IN UNNEST(@changed_dates)
