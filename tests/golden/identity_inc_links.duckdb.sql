CREATE OR REPLACE TEMPORARY TABLE identity__links_new AS
WITH src AS NOT MATERIALIZED (
  SELECT
    cid,
    event_ts,
    session_key,
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
    NOT uid IS NULL AND cid IN (
      SELECT
        cid
      FROM identity__scope0
    )
), per_session AS NOT MATERIALIZED (
  SELECT
    cid,
    clean_uid AS uid,
    session_key,
    MIN(event_ts) AS first_seen,
    MAX(event_ts) AS last_seen,
    COUNT(*) AS events
  FROM src
  WHERE
    NOT cid IS NULL AND NOT clean_uid IS NULL
  GROUP BY
    cid,
    clean_uid,
    session_key
)
SELECT
  cid,
  uid,
  MIN(first_seen) AS first_seen,
  MAX(last_seen) AS last_seen,
  CAST(SUM(events) AS BIGINT) AS events,
  COUNT(session_key) AS sessions
FROM per_session
GROUP BY
  cid,
  uid
