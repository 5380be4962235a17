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
  MAKE_TIMESTAMP(e.last_event_us) AS last_event_at,
  SUBSTRING(MD5(p.uid || '|' || 'ev9_interest'), 1, 4) < '199a' AS is_holdout,
  'ev9_page_views_14d=' || CAST(COALESCE(e.leaf1, 0) AS TEXT) || '; ' || 'ev9_tab_clicks_14d=' || CAST(COALESCE(e.leaf2, 0) AS TEXT) AS reason
FROM (
  SELECT
    uid,
    crm_record_id
  FROM profiles
  WHERE
    NOT uid IS NULL AND NOT COALESCE(opted_out, FALSE)
) AS p
LEFT JOIN (
  SELECT
    stitched_uid AS uid,
    CAST(COUNT_IF(
      (
        event_name = 'page_view' AND REGEXP_MATCHES(page_path, '^/models/ev9/?$')
      )
      AND event_timestamp >= $as_of_us - 1209600000000
    ) AS BIGINT) AS leaf1,
    CAST(COUNT_IF(
      (
        event_name = 'tab_click'
        AND tab_name IN ('exterior', 'driving', 'accessory')
        AND model = 'ev9'
      )
      AND event_timestamp >= $as_of_us - 1209600000000
    ) AS BIGINT) AS leaf2,
    CAST(COUNT_IF(
      (
        (
          event_name = 'page_view' AND REGEXP_MATCHES(page_path, '^/models/ev9/?$')
        )
        AND event_timestamp >= $as_of_us - 1209600000000
      )
      OR (
        (
          event_name = 'tab_click'
          AND tab_name IN ('exterior', 'driving', 'accessory')
          AND model = 'ev9'
        )
        AND event_timestamp >= $as_of_us - 1209600000000
      )
    ) AS BIGINT) AS qualifying_events,
    MAX(
      CASE
        WHEN (
          (
            event_name = 'page_view' AND REGEXP_MATCHES(page_path, '^/models/ev9/?$')
          )
          AND event_timestamp >= $as_of_us - 1209600000000
        )
        OR (
          (
            event_name = 'tab_click'
            AND tab_name IN ('exterior', 'driving', 'accessory')
            AND model = 'ev9'
          )
          AND event_timestamp >= $as_of_us - 1209600000000
        )
        THEN event_timestamp
        ELSE NULL
      END
    ) AS last_event_us
  FROM stitched_events
  WHERE
    NOT stitched_uid IS NULL
    AND event_timestamp <= $as_of_us
    AND COALESCE(analytics_storage, '') <> 'No'
    AND event_timestamp >= CASE
      WHEN (
        $as_of_us - 1209600000000
      ) IS NULL
      OR (
        $as_of_us - 1209600000000
      ) IS NULL
      THEN NULL
      ELSE LEAST($as_of_us - 1209600000000, $as_of_us - 1209600000000)
    END
    AND event_date >= CAST(MAKE_TIMESTAMP(
      CASE
        WHEN (
          $as_of_us - 1209600000000
        ) IS NULL
        OR (
          $as_of_us - 1209600000000
        ) IS NULL
        THEN NULL
        ELSE LEAST($as_of_us - 1209600000000, $as_of_us - 1209600000000)
      END - 86400000000
    ) AS DATE)
  GROUP BY
    stitched_uid
) AS e
  ON e.uid = p.uid
