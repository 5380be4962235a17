CREATE OR REPLACE TEMPORARY TABLE identity__spans AS
WITH logins AS NOT MATERIALIZED (
  SELECT
    cid,
    clean_uid AS uid,
    event_ts,
    event_key,
    LAG(clean_uid) OVER (PARTITION BY cid ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST) AS prev_uid
  FROM (
    SELECT
      cid,
      event_ts,
      event_key,
      CASE
        WHEN uid IS NULL
        OR ARRAY_CONTAINS(COALESCE($junk_uids, []), LOWER(uid))
        OR REGEXP_MATCHES(uid, $junk_pattern)
        THEN NULL
        ELSE uid
      END AS clean_uid
    FROM stg_events
    WHERE
      NOT cid IS NULL AND NOT uid IS NULL
  )
  WHERE
    NOT clean_uid IS NULL
), starts AS NOT MATERIALIZED (
  SELECT
    cid,
    uid,
    event_ts,
    event_key,
    ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST) AS interval_no
  FROM logins
  WHERE
    prev_uid IS NULL OR prev_uid <> uid
)
SELECT
  s.cid,
  s.uid,
  s.interval_no,
  s.event_ts AS login_ts,
  s.event_key AS login_key,
  LEAD(s.event_ts) OVER (PARTITION BY s.cid ORDER BY s.interval_no NULLS FIRST) AS next_ts,
  LEAD(s.event_key) OVER (PARTITION BY s.cid ORDER BY s.interval_no NULLS FIRST) AS next_key,
  CASE
    WHEN COALESCE(f.is_suspicious, FALSE)
    THEN 'suspicious'
    WHEN COALESCE(d.is_shared, FALSE)
    THEN 'shared'
    ELSE 'active'
  END AS status
FROM starts AS s
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM identity_flags
  WHERE
    is_suspicious
) AS f
  ON f.uid = s.uid
LEFT JOIN (
  SELECT
    cid,
    is_shared
  FROM identity_devices
  WHERE
    is_shared
) AS d
  ON d.cid = s.cid
