SELECT
  p.uid,
  p.crm_record_id,
  (
    COALESCE((
      COALESCE(e.leaf1, 0) >= 3
    ), FALSE)
    OR COALESCE((
      COALESCE(e.leaf2, 0) >= 1
    ), FALSE)
  ) AS qualifies,
  COALESCE(e.qualifying_events, 0) AS qualifying_events,
  TIMESTAMP_MICROS(e.last_event_us) AS last_event_at,
  SUBSTRING(TO_HEX(MD5(CONCAT(p.uid, '|', 'ev9_interest'))), 1, 4) < '199a' AS is_holdout,
  CONCAT(
    'ev9_page_views_14d=',
    CAST(COALESCE(e.leaf1, 0) AS STRING),
    '; ',
    'ev9_tab_clicks_14d=',
    CAST(COALESCE(e.leaf2, 0) AS STRING)
  ) AS reason
FROM (
  SELECT
    uid,
    crm_record_id
  FROM `demo-project`.cdp.profiles
  WHERE
    NOT uid IS NULL AND NOT COALESCE(opted_out, FALSE)
) AS p
LEFT JOIN (
  SELECT
    stitched_uid AS uid,
    COUNTIF(
      (
        event_name = 'page_view' AND REGEXP_CONTAINS(page_path, '^/models/ev9/?$')
      )
      AND event_timestamp >= @as_of_us - 1209600000000
    ) AS leaf1,
    COUNTIF(
      (
        event_name = 'tab_click'
        AND tab_name IN ('exterior', 'driving', 'accessory')
        AND model = 'ev9'
      )
      AND event_timestamp >= @as_of_us - 1209600000000
    ) AS leaf2,
    COUNTIF(
      (
        (
          event_name = 'page_view' AND REGEXP_CONTAINS(page_path, '^/models/ev9/?$')
        )
        AND event_timestamp >= @as_of_us - 1209600000000
      )
      OR (
        (
          event_name = 'tab_click'
          AND tab_name IN ('exterior', 'driving', 'accessory')
          AND model = 'ev9'
        )
        AND event_timestamp >= @as_of_us - 1209600000000
      )
    ) AS qualifying_events,
    MAX(
      IF(
        (
          (
            event_name = 'page_view' AND REGEXP_CONTAINS(page_path, '^/models/ev9/?$')
          )
          AND event_timestamp >= @as_of_us - 1209600000000
        )
        OR (
          (
            event_name = 'tab_click'
            AND tab_name IN ('exterior', 'driving', 'accessory')
            AND model = 'ev9'
          )
          AND event_timestamp >= @as_of_us - 1209600000000
        ),
        event_timestamp,
        NULL
      )
    ) AS last_event_us
  FROM `demo-project`.cdp.stitched_events
  WHERE
    NOT stitched_uid IS NULL
    AND event_timestamp <= @as_of_us
    AND COALESCE(analytics_storage, '') <> 'No'
    AND event_timestamp >= LEAST(@as_of_us - 1209600000000, @as_of_us - 1209600000000)
    AND event_date >= DATE(
      TIMESTAMP_MICROS(LEAST(@as_of_us - 1209600000000, @as_of_us - 1209600000000) - 86400000000)
    )
  GROUP BY
    stitched_uid
) AS e
  ON e.uid = p.uid
