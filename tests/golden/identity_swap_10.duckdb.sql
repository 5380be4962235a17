INSERT INTO stitched_events
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
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
)
SELECT
  s.*
  EXCLUDE (clean_uid),
  CASE
    WHEN s.cid IS NULL
    THEN CASE
      WHEN $include_consent_denied
      AND NOT s.clean_uid IS NULL
      AND (
        NOT COALESCE(f.is_suspicious, FALSE) OR $keep_suspicious_logins
      )
      THEN s.clean_uid
    END
    ELSE l.stitched_uid
  END AS stitched_uid,
  CASE WHEN s.cid IS NULL THEN 'consent_denied' ELSE l.attribution END AS attribution
FROM src AS s
LEFT JOIN identity__labels AS l
  ON l.event_key = s.event_key
  AND l.event_ts = s.event_ts
  AND l.shard_date = s.shard_date
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM identity_flags
  WHERE
    is_suspicious
) AS f
  ON f.uid = s.clean_uid AND s.cid IS NULL
