INSERT INTO `demo-project`.cdp.stitched_events
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
  s.*
  EXCEPT (clean_uid),
  IF(
    s.cid IS NULL,
    CASE
      WHEN @include_consent_denied
      AND NOT s.clean_uid IS NULL
      AND (
        NOT COALESCE(f.is_suspicious, FALSE) OR @keep_suspicious_logins
      )
      THEN s.clean_uid
    END,
    l.stitched_uid
  ) AS stitched_uid,
  IF(s.cid IS NULL, 'consent_denied', l.attribution) AS attribution
FROM src AS s
LEFT JOIN `demo-project`.cdp.identity__labels AS l
  ON l.event_key = s.event_key
  AND l.event_ts = s.event_ts
  AND l.shard_date = s.shard_date
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM `demo-project`.cdp.identity_flags
  WHERE
    is_suspicious
) AS f
  ON f.uid = s.clean_uid AND s.cid IS NULL
