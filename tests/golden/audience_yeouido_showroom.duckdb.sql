SELECT
  p.uid,
  p.crm_record_id,
  COALESCE((
    COALESCE(e.leaf0, 0) >= 1
  ), FALSE) AS qualifies,
  COALESCE(e.qualifying_events, 0) AS qualifying_events,
  MAKE_TIMESTAMP(e.last_event_us) AS last_event_at,
  FALSE AS is_holdout,
  'yeouido_views_30d=' || CAST(COALESCE(e.leaf0, 0) AS TEXT) AS reason
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
        event_name = 'page_view' AND STARTS_WITH(page_path, '/showrooms/yeouido')
      )
      AND event_timestamp >= $as_of_us - 2592000000000
    ) AS BIGINT) AS leaf0,
    CAST(COUNT_IF(
      (
        event_name = 'page_view' AND STARTS_WITH(page_path, '/showrooms/yeouido')
      )
      AND event_timestamp >= $as_of_us - 2592000000000
    ) AS BIGINT) AS qualifying_events,
    MAX(
      CASE
        WHEN (
          event_name = 'page_view' AND STARTS_WITH(page_path, '/showrooms/yeouido')
        )
        AND event_timestamp >= $as_of_us - 2592000000000
        THEN event_timestamp
        ELSE NULL
      END
    ) AS last_event_us
  FROM stitched_events
  WHERE
    NOT stitched_uid IS NULL
    AND event_timestamp <= $as_of_us
    AND COALESCE(analytics_storage, '') <> 'No'
    AND event_timestamp >= $as_of_us - 2592000000000
    AND event_date >= CAST(MAKE_TIMESTAMP($as_of_us - 2592000000000 - 86400000000) AS DATE)
  GROUP BY
    stitched_uid
) AS e
  ON e.uid = p.uid
