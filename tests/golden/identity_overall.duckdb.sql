SELECT
  COUNT(*) AS events,
  COUNT_IF(NOT stitched_uid IS NULL) AS identified_events,
  COUNT(DISTINCT cid) AS cids,
  COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN cid ELSE NULL END) AS identified_cids,
  COUNT(DISTINCT session_key) AS sessions,
  COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN session_key ELSE NULL END) AS identified_sessions,
  COUNT_IF(attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
  COUNT_IF(attribution = 'shared_device') AS shared_device_events,
  COUNT_IF(attribution = 'suspicious_uid') AS suspicious_uid_events,
  COUNT_IF(cid IS NULL) AS consent_denied_events,
  (
    SELECT
      COUNT(*)
    FROM identity_flags
  ) AS uids,
  (
    SELECT
      COUNT_IF(is_suspicious)
    FROM identity_flags
  ) AS suspicious_uids,
  (
    SELECT
      COUNT(*)
    FROM identity_devices
  ) AS devices_with_login,
  (
    SELECT
      COUNT_IF(is_shared)
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
