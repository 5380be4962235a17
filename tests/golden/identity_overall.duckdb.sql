SELECT
  COUNT(*) AS events,
  CAST(COUNT_IF(NOT stitched_uid IS NULL) AS BIGINT) AS identified_events,
  COUNT(DISTINCT cid) AS cids,
  COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN cid ELSE NULL END) AS identified_cids,
  COUNT(DISTINCT session_key) AS sessions,
  COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN session_key ELSE NULL END) AS identified_sessions,
  CAST(COUNT_IF(attribution IN ('backfill', 'after_logout')) AS BIGINT) AS stitched_anonymous_events,
  CAST(COUNT_IF(attribution = 'shared_device') AS BIGINT) AS shared_device_events,
  CAST(COUNT_IF(attribution = 'suspicious_uid') AS BIGINT) AS suspicious_uid_events,
  CAST(COUNT_IF(cid IS NULL) AS BIGINT) AS consent_denied_events,
  (
    SELECT
      COUNT(*)
    FROM identity_flags
  ) AS uids,
  (
    SELECT
      CAST(COUNT_IF(is_suspicious) AS BIGINT)
    FROM identity_flags
  ) AS suspicious_uids,
  (
    SELECT
      COUNT(*)
    FROM identity_devices
  ) AS devices_with_login,
  (
    SELECT
      CAST(COUNT_IF(is_shared) AS BIGINT)
    FROM identity_devices
  ) AS shared_devices,
  (
    SELECT
      COALESCE(SUM(events), 0)
    FROM identity_junk
  ) AS junk_uid_events,
  (
    SELECT
      COUNT(DISTINCT uid)
    FROM identity_junk
  ) AS junk_uid_values
FROM stitched_events
