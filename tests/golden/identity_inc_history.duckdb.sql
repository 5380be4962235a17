CREATE OR REPLACE TEMPORARY TABLE identity__history AS
SELECT
  s.*
  REPLACE (CASE
    WHEN NOT s.cid IS NULL AND NOT s.ga_session_id IS NULL
    THEN s.cid || '.' || CAST(s.ga_session_id AS TEXT)
  END AS session_key),
  sc.carry_uid,
  sc.first_uid AS carry_first,
  sc.kept
FROM stitched_events AS s
JOIN (
  SELECT
    *
  FROM identity__scope
  WHERE
    NOT whole
) AS sc
  ON sc.cid = s.cid
WHERE
  s.event_ts >= (
    SELECT
      MIN(cut_ts)
    FROM identity__scope
    WHERE
      NOT whole
  )
  AND (
    s.event_ts > sc.cut_ts
    OR (
      s.event_ts = sc.cut_ts AND s.event_key >= sc.cut_key
    )
  )
  AND NOT (
    ARRAY_CONTAINS(COALESCE($changed_dates, []), s.shard_date)
  )
UNION ALL
SELECT
  s.*
  REPLACE (CASE
    WHEN NOT s.cid IS NULL AND NOT s.ga_session_id IS NULL
    THEN s.cid || '.' || CAST(s.ga_session_id AS TEXT)
  END AS session_key),
  sc.carry_uid,
  sc.first_uid AS carry_first,
  sc.kept
FROM stitched_events AS s
JOIN (
  SELECT
    *
  FROM identity__scope
  WHERE
    whole
) AS sc
  ON sc.cid = s.cid
WHERE
  NOT (
    ARRAY_CONTAINS(COALESCE($changed_dates, []), s.shard_date)
  )
