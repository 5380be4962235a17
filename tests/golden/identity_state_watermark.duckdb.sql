CREATE OR REPLACE TEMPORARY TABLE identity__watermark AS
SELECT
  MAX(staged_at) AS staged_at
FROM stg_shards
