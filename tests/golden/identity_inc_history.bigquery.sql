CREATE OR REPLACE TABLE `demo-project`.cdp.identity__history AS
SELECT
  s.*
  REPLACE (CASE
    WHEN NOT s.cid IS NULL AND NOT s.ga_session_id IS NULL
    THEN CONCAT(s.cid, '.', CAST(s.ga_session_id AS STRING))
  END AS session_key),
  sc.carry_uid,
  sc.first_uid AS carry_first,
  sc.kept
FROM `demo-project`.cdp.stitched_events AS s
JOIN (
  SELECT
    *
  FROM `demo-project`.cdp.identity__scope
  WHERE
    NOT whole
) AS sc
  ON sc.cid = s.cid
WHERE
  s.event_ts >= (
    SELECT
      MIN(cut_ts)
    FROM `demo-project`.cdp.identity__scope
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
    s.shard_date IN UNNEST(@changed_dates)
  )
UNION ALL
SELECT
  s.*
  REPLACE (CASE
    WHEN NOT s.cid IS NULL AND NOT s.ga_session_id IS NULL
    THEN CONCAT(s.cid, '.', CAST(s.ga_session_id AS STRING))
  END AS session_key),
  sc.carry_uid,
  sc.first_uid AS carry_first,
  sc.kept
FROM `demo-project`.cdp.stitched_events AS s
JOIN (
  SELECT
    *
  FROM `demo-project`.cdp.identity__scope
  WHERE
    whole
) AS sc
  ON sc.cid = s.cid
WHERE
  NOT (
    s.shard_date IN UNNEST(@changed_dates)
  )
