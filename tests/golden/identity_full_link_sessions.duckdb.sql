CREATE OR REPLACE TABLE identity_link_sessions AS
WITH src AS NOT MATERIALIZED (
  SELECT
    *,
    CASE
      WHEN uid IS NULL
      OR ARRAY_CONTAINS(COALESCE($junk_uids, []), LOWER(uid))
      OR REGEXP_MATCHES(uid, $junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM stg_events
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
