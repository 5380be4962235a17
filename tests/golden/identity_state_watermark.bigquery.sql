CREATE OR REPLACE TABLE `demo-project`.cdp.identity__watermark AS
SELECT
  MAX(staged_at) AS staged_at
FROM `demo-project`.cdp.stg_shards
