WITH keyed AS (
  SELECT
    *,
    FARM_FINGERPRINT(
      TO_JSON_STRING(
        STRUCT(
          user_pseudo_id,
          user_id,
          event_date,
          event_name,
          event_timestamp,
          batch_page_id,
          batch_ordering_id,
          batch_event_index,
          IF(
            batch_page_id IS NULL AND batch_ordering_id IS NULL AND batch_event_index IS NULL,
            event_params,
            NULL
          ) AS params
        )
      )
    ) AS event_key /* The dedupe key (facts file, 1.8). The batch fields identify an event within its page */ /* load; only rows without them (older exports) fall back to the params. A 64-bit */ /* fingerprint, compared together with the timestamp, so a collision would need two */ /* different events in the same microsecond. */
  FROM (
    SELECT
      *,
      FALSE AS shard_provisional
    FROM (
      SELECT
        *,
        _TABLE_SUFFIX AS shard_suffix
      FROM `demo-project`.analytics_123456789.`events_*`
      WHERE
        _TABLE_SUFFIX BETWEEN '20240101' AND '20240102'
        AND _TABLE_SUFFIX IN ('20240101', '20240102')
    ) AS shards
    UNION ALL
    SELECT
      *,
      TRUE AS shard_provisional
    FROM (
      SELECT
        *,
        _TABLE_SUFFIX AS shard_suffix
      FROM `demo-project`.analytics_123456789.`events_intraday_*`
      WHERE
        _TABLE_SUFFIX BETWEEN '20240103' AND '20240103' AND _TABLE_SUFFIX IN ('20240103')
    ) AS shards
  ) AS shards
  WHERE
    NOT event_timestamp IS NULL AND NOT event_name IS NULL
), repeated /* Duplicates are rare (~1%): find their keys on narrow columns, pass every other row through, */ /* and number only the repeated ones. A window over all rows would shuffle every column of every */ /* event (2x slower on DuckDB at 10M events). */ AS (
  SELECT
    event_timestamp,
    event_key
  FROM keyed
  GROUP BY
    event_timestamp,
    event_key
  HAVING
    COUNT(*) > 1
), deduped AS (
  SELECT
    k.*
  FROM keyed AS k
  LEFT JOIN repeated AS r
    ON r.event_timestamp = k.event_timestamp AND r.event_key = k.event_key
  WHERE
    r.event_key IS NULL
  UNION ALL
  SELECT
    *
    EXCEPT (copy_no)
  FROM (
    SELECT
      k.*,
      ROW_NUMBER() OVER (PARTITION BY k.event_timestamp, k.event_key) AS copy_no
    FROM keyed AS k
    JOIN repeated AS r
      ON r.event_timestamp = k.event_timestamp AND r.event_key = k.event_key
  )
  WHERE
    copy_no = 1
), flat AS (
  SELECT
    event_key,
    TIMESTAMP_MICROS(event_timestamp) AS event_ts,
    event_timestamp,
    PARSE_DATE('%Y%m%d', event_date) AS event_date,
    shard_suffix AS shard_date,
    shard_provisional AS is_provisional,
    event_name,
    user_pseudo_id AS cid,
    user_id AS uid,
    (
      SELECT
        value.int_value
      FROM UNNEST(event_params)
      WHERE
        key = 'ga_session_id'
    ) AS ga_session_id,
    (
      SELECT
        value.int_value
      FROM UNNEST(event_params)
      WHERE
        key = 'ga_session_number'
    ) AS ga_session_number,
    (
      SELECT
        value.string_value
      FROM UNNEST(event_params)
      WHERE
        key = 'page_location'
    ) AS page_location,
    (
      SELECT
        value.string_value
      FROM UNNEST(event_params)
      WHERE
        key = 'page_title'
    ) AS page_title,
    (
      SELECT
        value.string_value
      FROM UNNEST(event_params)
      WHERE
        key = 'page_referrer'
    ) AS page_referrer,
    (
      SELECT
        value.int_value
      FROM UNNEST(event_params)
      WHERE
        key = 'engagement_time_msec'
    ) AS engagement_time_msec,
    privacy_info.analytics_storage AS analytics_storage,
    privacy_info.ads_storage AS ads_storage,
    device.category AS device_category,
    geo.country AS country,
    geo.city AS city,
    platform,
    traffic_source.source AS traffic_source,
    traffic_source.medium AS traffic_medium,
    traffic_source.name AS traffic_campaign,
    (
      SELECT
        COALESCE(value.string_value, SAFE_CAST(value.int_value AS STRING))
      FROM UNNEST(event_params)
      WHERE
        key = 'tab_name'
    ) AS tab_name,
    (
      SELECT
        COALESCE(value.string_value, SAFE_CAST(value.int_value AS STRING))
      FROM UNNEST(event_params)
      WHERE
        key = 'model'
    ) AS model
  FROM deduped
)
SELECT
  *
  EXCEPT (url),
  CASE
    WHEN NOT cid IS NULL AND NOT ga_session_id IS NULL
    THEN CONCAT(cid, '.', CAST(ga_session_id AS STRING))
  END AS session_key,
  IF(
    INSTR(url, '://') > 0 AND REGEXP_CONTAINS(url, '^[A-Za-z][A-Za-z0-9+.-]*://'),
    SUBSTR(
      url,
      INSTR(url, '://') + 2 + INSTR(CONCAT(SUBSTR(url, INSTR(url, '://') + 3), '/'), '/')
    ),
    url
  ) AS page_path
FROM (
  SELECT
    *,
    SPLIT(SPLIT(page_location, '?')[SAFE_OFFSET(0)], '#')[SAFE_OFFSET(0)] AS url
  FROM flat
)
