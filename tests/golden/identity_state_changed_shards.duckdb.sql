SELECT DISTINCT
  shard
FROM stg_shards
WHERE
  (
    (
      SELECT
        MAX(staged_watermark)
      FROM identity_state
    ) IS NULL
    OR staged_at > (
      SELECT
        MAX(staged_watermark)
      FROM identity_state
    )
  )
  AND staged_at <= (
    SELECT
      MAX(staged_at)
    FROM identity__watermark
  )
