CREATE OR REPLACE TABLE `demo-project`.cdp.identity_junk AS
WITH src AS (
  SELECT
    *,
    CASE
      WHEN uid IS NULL
      OR LOWER(uid) IN UNNEST(@junk_uids)
      OR REGEXP_CONTAINS(uid, @junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM `demo-project`.cdp.stg_events
)
SELECT
  shard_date,
  event_date,
  uid,
  COUNT(*) AS events,
  COUNT(DISTINCT cid) AS cids
FROM src
WHERE
  NOT uid IS NULL AND clean_uid IS NULL
GROUP BY
  shard_date,
  event_date,
  uid
