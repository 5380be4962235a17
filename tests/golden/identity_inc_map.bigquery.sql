CREATE OR REPLACE TABLE `demo-project`.cdp.identity__map_new AS
WITH starts AS (
  SELECT
    cid,
    clean_uid AS uid,
    event_ts,
    event_key,
    kept + ROW_NUMBER() OVER (PARTITION BY cid ORDER BY event_ts, event_key) AS interval_no
  FROM `demo-project`.cdp.identity__labels
  WHERE
    NOT clean_uid IS NULL AND (
      prev_login IS NULL OR prev_login <> clean_uid
    )
), first_events AS (
  SELECT
    cid,
    event_ts AS first_ts,
    event_key AS first_key
  FROM `demo-project`.cdp.identity__labels
  WHERE
    is_first
), spans AS (
  SELECT
    s.cid,
    s.uid,
    s.interval_no,
    s.event_ts AS login_ts,
    s.event_key AS login_key,
    LEAD(s.event_ts) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS next_ts,
    LEAD(s.event_key) OVER (PARTITION BY s.cid ORDER BY s.interval_no) AS next_key,
    CASE
      WHEN COALESCE(f.is_suspicious, FALSE)
      THEN 'suspicious'
      WHEN COALESCE(d.is_shared, FALSE)
      THEN 'shared'
      ELSE 'active'
    END AS status
  FROM starts AS s
  LEFT JOIN (
    SELECT
      uid,
      is_suspicious
    FROM (
      SELECT
        *
      FROM `demo-project`.cdp.identity_flags
      WHERE
        NOT uid IN (
          SELECT
            uid
          FROM `demo-project`.cdp.identity__affected_uids
        )
      UNION ALL
      SELECT
        *
      FROM `demo-project`.cdp.identity__flags_new
    )
    WHERE
      is_suspicious
  ) AS f
    ON f.uid = s.uid
  LEFT JOIN (
    SELECT
      cid,
      is_shared
    FROM `demo-project`.cdp.identity__devices_new
    WHERE
      is_shared
  ) AS d
    ON d.cid = s.cid
)
SELECT
  p.cid,
  p.uid,
  p.interval_no,
  IF(p.interval_no = 1, fe.first_ts, p.login_ts) AS valid_from,
  IF(p.interval_no = 1, fe.first_key, p.login_key) AS valid_from_key,
  p.next_ts AS valid_to,
  p.next_key AS valid_to_key,
  p.status
FROM spans AS p
JOIN first_events AS fe
  ON fe.cid = p.cid
