SELECT
  'test_drive_abandon' AS trigger,
  s.stitched_uid AS uid,
  p.crm_record_id,
  CAST(s.event_key AS STRING) AS start_event_key,
  s.event_timestamp AS start_event_timestamp,
  s.session_key,
  s.cid,
  EXISTS(
    SELECT
      1
    FROM `demo-project`.cdp.stitched_events AS c
    WHERE
      c.stitched_uid = s.stitched_uid
      AND c.event_timestamp >= s.event_timestamp
      AND c.event_timestamp <= s.event_timestamp + 1800000000
      AND c.event_key <> s.event_key
      AND c.event_date >= DATE(TIMESTAMP_MICROS(@since_us - 86400000000))
      AND (
        (
          c.event_name = 'test_drive_submit'
        )
      )
  ) AS completed,
  s.model,
  s.page_path
FROM `demo-project`.cdp.stitched_events AS s
JOIN (
  SELECT
    uid,
    crm_record_id
  FROM `demo-project`.cdp.profiles
  WHERE
    NOT uid IS NULL AND NOT COALESCE(opted_out, FALSE)
) AS p
  ON p.uid = s.stitched_uid
WHERE
  (
    s.event_name = 'test_drive_click'
  )
  AND NOT s.stitched_uid IS NULL
  AND s.event_timestamp >= @since_us
  AND s.event_timestamp <= @watermark_us - 1800000000
  AND s.event_date >= DATE(TIMESTAMP_MICROS(@since_us - 86400000000))
  AND NOT EXISTS(
    SELECT
      1
    FROM `demo-project`.cdp.trigger_decisions AS f
    WHERE
      f.trigger = 'test_drive_abandon'
      AND f.start_event_key = CAST(s.event_key AS STRING)
  )
  AND COALESCE(s.analytics_storage, '') <> 'No'
