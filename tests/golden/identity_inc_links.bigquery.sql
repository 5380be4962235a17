CREATE OR REPLACE TABLE `demo-project`.cdp.identity__links_new AS
WITH src AS (
  SELECT
    cid,
    event_ts,
    session_key,
    CASE
      WHEN uid IS NULL
      OR LOWER(uid) IN UNNEST(@junk_uids)
      OR REGEXP_CONTAINS(uid, @junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM `demo-project`.cdp.stg_events
  WHERE
    NOT uid IS NULL
    AND cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope0
    )
), per_session AS (
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
  CAST(SUM(events) AS INT64) AS events,
  COUNT(session_key) AS sessions
FROM per_session
GROUP BY
  cid,
  uid
