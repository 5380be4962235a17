CREATE OR REPLACE TABLE profiles AS
WITH activity AS NOT MATERIALIZED (
  SELECT
    stitched_uid AS uid,
    MIN(event_ts) AS first_seen,
    MAX(event_ts) AS last_seen,
    COUNT(*) AS events,
    COUNT(DISTINCT session_key) AS sessions
  FROM stitched_events
  WHERE
    NOT stitched_uid IS NULL
  GROUP BY
    stitched_uid
), people AS NOT MATERIALIZED (
  SELECT
    COALESCE(a.uid, f.uid) AS uid,
    COALESCE(a.first_seen, f.first_seen) AS first_seen,
    COALESCE(a.last_seen, f.last_seen) AS last_seen,
    COALESCE(a.events, 0) AS events,
    COALESCE(a.sessions, 0) AS sessions,
    COALESCE(f.n_cids, 0) AS device_count,
    COALESCE(f.is_suspicious, FALSE) AS is_suspicious
  FROM activity AS a
  FULL OUTER JOIN identity_flags AS f
    ON f.uid = a.uid
), crm AS NOT MATERIALIZED (
  SELECT
    uid,
    record_id,
    record_type,
    email,
    customer_type,
    TRY_CAST("segment" AS TEXT) AS "segment",
    CAST(NULL AS TEXT) AS "region",
    BOOL_OR(CAST(COALESCE(opted_out, FALSE) AS BOOLEAN)) OVER (PARTITION BY uid) AS opted_out,
    COUNT(*) OVER (PARTITION BY uid) AS crm_records
  FROM crm_customers AS src
  WHERE
    NOT uid IS NULL
  QUALIFY
    ROW_NUMBER() OVER (
      PARTITION BY uid
      ORDER BY CASE WHEN record_type = 'Contact' THEN 0 ELSE 1 END NULLS FIRST, system_modstamp DESC, record_id NULLS FIRST
    ) = 1
)
SELECT
  p.uid,
  c.record_id AS crm_record_id,
  c.record_type,
  c.email,
  c.opted_out,
  c.customer_type,
  c."segment",
  c."region",
  p.device_count,
  p.first_seen,
  p.last_seen,
  p.events,
  p.sessions,
  p.is_suspicious,
  NOT c.record_id IS NULL AS crm_matched,
  COALESCE(c.crm_records, 0) AS crm_records
FROM people AS p
LEFT JOIN crm AS c
  ON c.uid = p.uid
