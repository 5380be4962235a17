SELECT DISTINCT
  shard
FROM `demo-project`.cdp.stg_shards
WHERE
  (
    (
      SELECT
        MAX(staged_watermark)
      FROM `demo-project`.cdp.identity_state
    ) IS NULL
    OR staged_at > (
      SELECT
        MAX(staged_watermark)
      FROM `demo-project`.cdp.identity_state
    )
  )
  AND staged_at <= (
    SELECT
      MAX(staged_at)
    FROM `demo-project`.cdp.identity__watermark
  )
