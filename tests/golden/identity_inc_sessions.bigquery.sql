CREATE OR REPLACE TABLE `demo-project`.cdp.identity__sessions_new AS
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
  WHERE
    shard_date IN UNNEST(@changed_dates)
)
SELECT
  cid,
  clean_uid AS uid,
  ga_session_id,
  shard_date,
  MIN(event_ts) AS first_seen,
  MAX(event_ts) AS last_seen,
  COUNT(*) AS events
FROM src
WHERE
  NOT cid IS NULL AND NOT uid IS NULL AND NOT clean_uid IS NULL
GROUP BY
  cid,
  clean_uid,
  ga_session_id,
  shard_date
