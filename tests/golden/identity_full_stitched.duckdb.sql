CREATE OR REPLACE TABLE stitched_events AS
WITH src AS (
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
), ordered AS (
  SELECT
    *,
    LAST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid
      ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS prev_uid,
    FIRST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid
      ORDER BY event_ts NULLS FIRST, event_key NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS first_uid
  FROM src
  WHERE
    NOT cid IS NULL
), device_events AS (
  SELECT
    o.*,
    COALESCE(own.is_suspicious, FALSE) AS own_suspicious,
    COALESCE(cand.is_suspicious, FALSE) AS cand_suspicious,
    COALESCE(d.is_shared, FALSE) AS is_shared
  FROM ordered AS o
  LEFT JOIN identity_flags AS own
    ON own.uid = o.clean_uid
  LEFT JOIN identity_flags AS cand
    ON cand.uid = COALESCE(o.prev_uid, o.first_uid)
  LEFT JOIN identity_devices AS d
    ON d.cid = o.cid
), consent_events AS (
  SELECT
    s.*,
    CAST(NULL AS TEXT) AS prev_uid,
    CAST(NULL AS TEXT) AS first_uid,
    COALESCE(f.is_suspicious, FALSE) AS own_suspicious,
    FALSE AS cand_suspicious,
    FALSE AS is_shared
  FROM src AS s
  LEFT JOIN identity_flags AS f
    ON f.uid = s.clean_uid
  WHERE
    s.cid IS NULL
)
SELECT
  *
  EXCLUDE (clean_uid, prev_uid, first_uid, own_suspicious, cand_suspicious, is_shared),
  CASE
    WHEN NOT clean_uid IS NULL AND NOT own_suspicious
    THEN clean_uid
    WHEN NOT clean_uid IS NULL AND $keep_suspicious_logins
    THEN clean_uid
    WHEN NOT clean_uid IS NULL
    THEN NULL
    WHEN first_uid IS NULL OR cand_suspicious
    THEN NULL
    WHEN is_shared AND NOT $attribute_shared_devices
    THEN NULL
    ELSE COALESCE(prev_uid, first_uid)
  END AS stitched_uid,
  CASE
    WHEN NOT clean_uid IS NULL AND own_suspicious
    THEN 'suspicious_uid'
    WHEN NOT clean_uid IS NULL
    THEN 'login'
    WHEN first_uid IS NULL
    THEN 'none'
    WHEN cand_suspicious
    THEN 'suspicious_uid'
    WHEN is_shared AND NOT $attribute_shared_devices
    THEN 'shared_device'
    WHEN prev_uid IS NULL
    THEN 'backfill'
    ELSE 'after_logout'
  END AS attribution
FROM device_events
UNION ALL
SELECT
  *
  EXCLUDE (clean_uid, prev_uid, first_uid, own_suspicious, cand_suspicious, is_shared),
  CASE
    WHEN $include_consent_denied
    AND NOT clean_uid IS NULL
    AND (
      NOT own_suspicious OR $keep_suspicious_logins
    )
    THEN clean_uid
  END AS stitched_uid,
  'consent_denied' AS attribution
FROM consent_events
