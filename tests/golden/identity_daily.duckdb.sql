CREATE OR REPLACE TABLE identity_daily AS
WITH days AS NOT MATERIALIZED (
  SELECT
    s.event_date,
    COUNT(*) AS events,
    CAST(COUNT_IF(NOT s.stitched_uid IS NULL) AS BIGINT) AS identified_events,
    COUNT(DISTINCT s.cid) AS cids,
    COUNT(DISTINCT CASE WHEN NOT s.stitched_uid IS NULL THEN s.cid ELSE NULL END) AS identified_cids,
    COUNT(DISTINCT s.session_key) AS sessions,
    COUNT(DISTINCT CASE WHEN NOT s.stitched_uid IS NULL THEN s.session_key ELSE NULL END) AS identified_sessions,
    CAST(COUNT_IF(s.attribution IN ('backfill', 'after_logout')) AS BIGINT) AS stitched_anonymous_events,
    CAST(COUNT_IF(s.attribution = 'shared_device') AS BIGINT) AS shared_device_events,
    CAST(COUNT_IF(s.attribution = 'suspicious_uid') AS BIGINT) AS suspicious_uid_events,
    CAST(COUNT_IF(s.cid IS NULL) AS BIGINT) AS consent_denied_events,
    COUNT(DISTINCT d.cid) AS shared_devices,
    COUNT(DISTINCT f.uid) AS suspicious_uids,
    COUNT(DISTINCT s.stitched_uid) AS uids,
    COUNT(DISTINCT p.uid) AS crm_matched_uids
  FROM stitched_events AS s
  LEFT JOIN (
    SELECT
      cid,
      is_shared
    FROM identity_devices
    WHERE
      is_shared
  ) AS d
    ON d.cid = s.cid
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
      uid
    FROM profiles
    WHERE
      crm_matched
  ) AS p
    ON p.uid = s.stitched_uid
  GROUP BY
    s.event_date
), junk AS NOT MATERIALIZED (
  SELECT
    event_date,
    CAST(SUM(events) AS BIGINT) AS junk_uid_events
  FROM identity_junk
  GROUP BY
    event_date
)
SELECT
  d.*,
  COALESCE(j.junk_uid_events, 0) AS junk_uid_events,
  CASE WHEN d.cids <> 0 THEN d.identified_cids / d.cids ELSE NULL END AS cid_identification_rate,
  CASE WHEN d.events <> 0 THEN d.identified_events / d.events ELSE NULL END AS event_identification_rate,
  CASE WHEN d.sessions <> 0 THEN d.identified_sessions / d.sessions ELSE NULL END AS session_identification_rate,
  CASE WHEN d.uids <> 0 THEN d.crm_matched_uids / d.uids ELSE NULL END AS crm_match_rate
FROM days AS d
LEFT JOIN junk AS j
  ON j.event_date = d.event_date
