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
)
SELECT
  cid,
  clean_uid AS uid,
  MIN(event_ts) AS first_seen,
  MAX(event_ts) AS last_seen,
  COUNT(*) AS events,
  COUNT(DISTINCT session_key) AS sessions
FROM src
WHERE
  NOT cid IS NULL AND NOT clean_uid IS NULL
GROUP BY
  cid,
  clean_uid
