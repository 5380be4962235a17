CREATE OR REPLACE TABLE `demo-project`.cdp.identity__stitched_new AS
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
    cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope
    )
    OR (
      cid IS NULL
      AND (
        shard_date IN UNNEST(@changed_dates)
        OR uid IN (
          SELECT
            uid
          FROM `demo-project`.cdp.identity__changed_uids
        )
      )
    )
), ordered AS (
  SELECT
    *,
    LAST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid
      ORDER BY event_ts, event_key
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS prev_uid,
    FIRST_VALUE(clean_uid IGNORE NULLS) OVER (
      PARTITION BY cid
      ORDER BY event_ts, event_key
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
  LEFT JOIN `demo-project`.cdp.identity__flags_new AS own
    ON own.uid = o.clean_uid
  LEFT JOIN `demo-project`.cdp.identity__flags_new AS cand
    ON cand.uid = COALESCE(o.prev_uid, o.first_uid)
  LEFT JOIN `demo-project`.cdp.identity__devices_new AS d
    ON d.cid = o.cid
), consent_events AS (
  SELECT
    s.*,
    CAST(NULL AS STRING) AS prev_uid,
    CAST(NULL AS STRING) AS first_uid,
    COALESCE(f.is_suspicious, FALSE) AS own_suspicious,
    FALSE AS cand_suspicious,
    FALSE AS is_shared
  FROM src AS s
  LEFT JOIN `demo-project`.cdp.identity__flags_new AS f
    ON f.uid = s.clean_uid
  WHERE
    s.cid IS NULL
)
SELECT
  *
  EXCEPT (clean_uid, prev_uid, first_uid, own_suspicious, cand_suspicious, is_shared),
  CASE
    WHEN NOT clean_uid IS NULL AND NOT own_suspicious
    THEN clean_uid
    WHEN NOT clean_uid IS NULL AND @keep_suspicious_logins
    THEN clean_uid
    WHEN NOT clean_uid IS NULL
    THEN NULL
    WHEN first_uid IS NULL OR cand_suspicious
    THEN NULL
    WHEN is_shared AND NOT @attribute_shared_devices
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
    WHEN is_shared AND NOT @attribute_shared_devices
    THEN 'shared_device'
    WHEN prev_uid IS NULL
    THEN 'backfill'
    ELSE 'after_logout'
  END AS attribution
FROM device_events
UNION ALL
SELECT
  *
  EXCEPT (clean_uid, prev_uid, first_uid, own_suspicious, cand_suspicious, is_shared),
  CASE
    WHEN @include_consent_denied
    AND NOT clean_uid IS NULL
    AND (
      NOT own_suspicious OR @keep_suspicious_logins
    )
    THEN clean_uid
  END AS stitched_uid,
  'consent_denied' AS attribution
FROM consent_events
