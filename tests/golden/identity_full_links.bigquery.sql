CREATE OR REPLACE TABLE `demo-project`.cdp.identity_links
CLUSTER BY cid, uid AS
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
