SELECT
  COUNT(*) AS events,
  COUNTIF(NOT stitched_uid IS NULL) AS identified_events,
  COUNT(DISTINCT cid) AS cids,
  COUNT(DISTINCT IF(NOT stitched_uid IS NULL, cid, NULL)) AS identified_cids,
  COUNT(DISTINCT session_key) AS sessions,
  COUNT(DISTINCT IF(NOT stitched_uid IS NULL, session_key, NULL)) AS identified_sessions,
  COUNTIF(attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
  COUNTIF(attribution = 'shared_device') AS shared_device_events,
  COUNTIF(attribution = 'suspicious_uid') AS suspicious_uid_events,
  COUNTIF(cid IS NULL) AS consent_denied_events,
  (
    SELECT
      COUNT(*)
    FROM `demo-project`.cdp.identity_flags
  ) AS uids,
  (
    SELECT
      COUNTIF(is_suspicious)
    FROM `demo-project`.cdp.identity_flags
  ) AS suspicious_uids,
  (
    SELECT
      COUNT(*)
    FROM `demo-project`.cdp.identity_devices
  ) AS devices_with_login,
  (
    SELECT
      COUNTIF(is_shared)
    FROM `demo-project`.cdp.identity_devices
  ) AS shared_devices,
  (
    SELECT
      COALESCE(SUM(events), 0)
    FROM `demo-project`.cdp.identity_junk
  ) AS junk_uid_events,
  (
    SELECT
      COUNT(DISTINCT uid)
    FROM `demo-project`.cdp.identity_junk
  ) AS junk_uid_values
FROM `demo-project`.cdp.stitched_events
