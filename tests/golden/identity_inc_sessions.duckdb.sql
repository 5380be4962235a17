CREATE OR REPLACE TEMPORARY TABLE identity__sessions_new AS
WITH src AS NOT MATERIALIZED (
  SELECT
    *,
    CASE
      WHEN uid IS NULL
      OR CASE
        WHEN $junk_uids IS NULL OR ARRAY_LENGTH($junk_uids) = 0
        THEN FALSE
        WHEN ARRAY_CONTAINS($junk_uids, LOWER(uid))
        THEN TRUE
        WHEN LOWER(uid) IS NULL OR ARRAY_LENGTH($junk_uids) <> LIST_COUNT($junk_uids)
        THEN NULL
        ELSE FALSE
      END
      OR REGEXP_MATCHES(uid, $junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM stg_events
  WHERE
    CASE
      WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
      THEN FALSE
      WHEN ARRAY_CONTAINS($changed_dates, shard_date)
      THEN TRUE
      WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
      THEN NULL
      ELSE FALSE
    END
)
SELECT
  cid,
  clean_uid AS uid,
  session_key,
  shard_date,
  MIN(event_ts) AS first_seen,
  MAX(event_ts) AS last_seen,
  COUNT(*) AS events
FROM src
WHERE
  NOT cid IS NULL AND NOT clean_uid IS NULL
GROUP BY
  cid,
  clean_uid,
  session_key,
  shard_date
