CREATE OR REPLACE TABLE identity_daily AS
WITH days AS NOT MATERIALIZED (
  SELECT
    event_date,
    COUNT(*) AS events,
    COUNT_IF(NOT stitched_uid IS NULL) AS identified_events,
    COUNT(DISTINCT cid) AS cids,
    COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN cid ELSE NULL END) AS identified_cids,
    COUNT(DISTINCT session_key) AS sessions,
    COUNT(DISTINCT CASE WHEN NOT stitched_uid IS NULL THEN session_key ELSE NULL END) AS identified_sessions,
    COUNT_IF(attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
    COUNT_IF(attribution = 'shared_device') AS shared_device_events,
    COUNT_IF(attribution = 'suspicious_uid') AS suspicious_uid_events,
    COUNT_IF(cid IS NULL) AS consent_denied_events
  FROM stitched_events
  GROUP BY
    event_date
), junk AS NOT MATERIALIZED (
  SELECT
    CAST(STRPTIME('1970 ' || shard_date, '%Y ' || '%Y%m%d') AS DATE) AS event_date,
    SUM(events) AS junk_uid_events
  FROM identity_junk
  GROUP BY
    shard_date
)
SELECT
  d.*,
  COALESCE(j.junk_uid_events, 0) AS junk_uid_events,
  CASE WHEN d.cids <> 0 THEN d.identified_cids / d.cids ELSE NULL END AS cid_identification_rate,
  CASE WHEN d.events <> 0 THEN d.identified_events / d.events ELSE NULL END AS event_identification_rate,
  CASE WHEN d.sessions <> 0 THEN d.identified_sessions / d.sessions ELSE NULL END AS session_identification_rate
FROM days AS d
LEFT JOIN junk AS j
  ON j.event_date = d.event_date
