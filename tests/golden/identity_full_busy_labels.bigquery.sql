CREATE OR REPLACE TABLE `demo-project`.cdp.identity__busy_labels AS
WITH src AS (
  SELECT
    cid,
    event_ts,
    event_key,
    shard_date,
    CASE
      WHEN uid IS NULL
      OR LOWER(uid) IN UNNEST(@junk_uids)
      OR REGEXP_CONTAINS(uid, @junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid,
    CAST(NULL AS STRING) AS carry_uid,
    CAST(NULL AS STRING) AS carry_first,
    0 AS kept
  FROM `demo-project`.cdp.stg_events
  WHERE
    cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__busy_devices
    )
), ordered AS (
  SELECT
    *,
    COALESCE(
      LAST_VALUE(clean_uid IGNORE NULLS) OVER (
        PARTITION BY cid
        ORDER BY event_ts, event_key
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ),
      carry_uid
    ) AS prev_login,
    COALESCE(
      carry_first,
      FIRST_VALUE(clean_uid IGNORE NULLS) OVER (
        PARTITION BY cid
        ORDER BY event_ts, event_key
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      )
    ) AS first_uid,
    ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts, event_key) = 1 AS is_first
  FROM src
), device_events AS (
  SELECT
    o.*,
    COALESCE(own.is_suspicious, FALSE) AS own_suspicious,
    COALESCE(cand.is_suspicious, FALSE) AS cand_suspicious,
    COALESCE(d.is_shared, FALSE) AS is_shared
  FROM (
    SELECT
      *,
      COALESCE(clean_uid, prev_login) AS prev_uid
    FROM ordered
  ) AS o
  LEFT JOIN (
    SELECT
      uid,
      is_suspicious
    FROM `demo-project`.cdp.identity_flags
    WHERE
      is_suspicious
  ) AS own
    ON own.uid = o.clean_uid
  LEFT JOIN (
    SELECT
      uid,
      is_suspicious
    FROM `demo-project`.cdp.identity_flags
    WHERE
      is_suspicious
  ) AS cand
    ON cand.uid = COALESCE(o.prev_uid, o.first_uid)
  LEFT JOIN (
    SELECT
      cid,
      is_shared
    FROM `demo-project`.cdp.identity_devices
    WHERE
      is_shared
  ) AS d
    ON d.cid = o.cid
)
SELECT
  cid,
  event_ts,
  event_key,
  shard_date,
  clean_uid,
  prev_login,
  is_first,
  kept,
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
