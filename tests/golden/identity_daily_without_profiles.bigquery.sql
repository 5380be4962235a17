CREATE OR REPLACE TABLE `demo-project`.cdp.identity_daily AS
WITH days AS (
  SELECT
    s.event_date,
    COUNT(*) AS events,
    COUNTIF(NOT s.stitched_uid IS NULL) AS identified_events,
    COUNT(DISTINCT s.cid) AS cids,
    COUNT(DISTINCT IF(NOT s.stitched_uid IS NULL, s.cid, NULL)) AS identified_cids,
    COUNT(DISTINCT s.session_key) AS sessions,
    COUNT(DISTINCT IF(NOT s.stitched_uid IS NULL, s.session_key, NULL)) AS identified_sessions,
    COUNTIF(s.attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
    COUNTIF(s.attribution = 'shared_device') AS shared_device_events,
    COUNTIF(s.attribution = 'suspicious_uid') AS suspicious_uid_events,
    COUNTIF(s.cid IS NULL) AS consent_denied_events,
    COUNT(DISTINCT d.cid) AS shared_devices,
    COUNT(DISTINCT f.uid) AS suspicious_uids,
    COUNT(DISTINCT s.stitched_uid) AS uids,
    CAST(NULL AS INT64) AS crm_matched_uids
  FROM `demo-project`.cdp.stitched_events AS s
  LEFT JOIN (
    SELECT
      cid,
      is_shared
    FROM `demo-project`.cdp.identity_devices
    WHERE
      is_shared
  ) AS d
    ON d.cid = s.cid
  LEFT JOIN (
    SELECT
      uid,
      is_suspicious
    FROM `demo-project`.cdp.identity_flags
    WHERE
      is_suspicious
  ) AS f
    ON f.uid = s.uid
  GROUP BY
    s.event_date
), junk AS (
  SELECT
    event_date,
    CAST(SUM(events) AS INT64) AS junk_uid_events
  FROM `demo-project`.cdp.identity_junk
  GROUP BY
    event_date
)
SELECT
  d.*,
  COALESCE(j.junk_uid_events, 0) AS junk_uid_events,
  SAFE_DIVIDE(d.identified_cids, d.cids) AS cid_identification_rate,
  SAFE_DIVIDE(d.identified_events, d.events) AS event_identification_rate,
  SAFE_DIVIDE(d.identified_sessions, d.sessions) AS session_identification_rate,
  SAFE_DIVIDE(d.crm_matched_uids, d.uids) AS crm_match_rate
FROM days AS d
LEFT JOIN junk AS j
  ON j.event_date = d.event_date
