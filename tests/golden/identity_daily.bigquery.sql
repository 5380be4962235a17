CREATE OR REPLACE TABLE `demo-project`.cdp.identity_daily AS
WITH days AS (
  SELECT
    event_date,
    COUNT(*) AS events,
    COUNTIF(NOT stitched_uid IS NULL) AS identified_events,
    COUNT(DISTINCT cid) AS cids,
    COUNT(DISTINCT IF(NOT stitched_uid IS NULL, cid, NULL)) AS identified_cids,
    COUNT(DISTINCT session_key) AS sessions,
    COUNT(DISTINCT IF(NOT stitched_uid IS NULL, session_key, NULL)) AS identified_sessions,
    COUNTIF(attribution IN ('backfill', 'after_logout')) AS stitched_anonymous_events,
    COUNTIF(attribution = 'shared_device') AS shared_device_events,
    COUNTIF(attribution = 'suspicious_uid') AS suspicious_uid_events,
    COUNTIF(cid IS NULL) AS consent_denied_events
  FROM `demo-project`.cdp.stitched_events
  GROUP BY
    event_date
), junk AS (
  SELECT
    PARSE_DATE('%Y%m%d', shard_date) AS event_date,
    SUM(events) AS junk_uid_events
  FROM `demo-project`.cdp.identity_junk
  GROUP BY
    shard_date
)
SELECT
  d.*,
  COALESCE(j.junk_uid_events, 0) AS junk_uid_events,
  SAFE_DIVIDE(d.identified_cids, d.cids) AS cid_identification_rate,
  SAFE_DIVIDE(d.identified_events, d.events) AS event_identification_rate,
  SAFE_DIVIDE(d.identified_sessions, d.sessions) AS session_identification_rate
FROM days AS d
LEFT JOIN junk AS j
  ON j.event_date = d.event_date
