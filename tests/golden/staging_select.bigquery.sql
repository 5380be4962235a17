WITH flat AS (
  SELECT
    TO_HEX(
      MD5(
        CONCAT(
          IFNULL(user_pseudo_id, ''),
          '|',
          IFNULL(user_id, ''),
          '|',
          IFNULL(event_date, ''),
          '|',
          IFNULL(event_name, ''),
          '|',
          IFNULL(CAST(event_timestamp AS STRING), ''),
          '|',
          IFNULL(CAST(batch_page_id AS STRING), ''),
          '|',
          IFNULL(CAST(batch_ordering_id AS STRING), ''),
          '|',
          IFNULL(CAST(batch_event_index AS STRING), ''),
          '|',
          CASE
            WHEN batch_page_id IS NULL AND batch_ordering_id IS NULL AND batch_event_index IS NULL
            THEN IFNULL(TO_JSON_STRING(event_params), '')
            ELSE ''
          END
        )
      )
    ) AS event_key, /* The batch fields identify an event within its page load; only rows without them */ /* (older exports) fall back to the params, whose JSON costs more than the rest combined. */
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
    batch_page_id,
    batch_ordering_id,
    batch_event_index,
    (
      SELECT
        value.string_value
      FROM UNNEST(event_params)
      WHERE
        key = 'tab_name'
    ) AS tab_name,
    (
      SELECT
        value.string_value
      FROM UNNEST(event_params)
      WHERE
        key = 'model'
    ) AS model
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
), repeated /* Duplicates are rare (~1%): find their keys on the narrow key column, keep every other row as */ /* is, and number only the repeated ones. A window over all rows would shuffle every column of */ /* every event (2x slower on DuckDB at 10M events). */ AS (
  SELECT
    event_key
  FROM flat
  GROUP BY
    event_key
  HAVING
    COUNT(*) > 1
), kept AS (
  SELECT
    *
  FROM flat
  WHERE
    NOT event_key IN (
      SELECT
        event_key
      FROM repeated
    )
  UNION ALL
  (
    SELECT
      *
    FROM flat
    WHERE
      event_key IN (
        SELECT
          event_key
        FROM repeated
      )
    QUALIFY
      ROW_NUMBER() OVER (PARTITION BY event_key) = 1
  )
)
SELECT
  *
  EXCEPT (batch_page_id, batch_ordering_id, batch_event_index),
  CASE
    WHEN NOT cid IS NULL AND NOT ga_session_id IS NULL
    THEN CONCAT(cid, '.', CAST(ga_session_id AS STRING))
  END AS session_key,
  REGEXP_EXTRACT(page_location, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)') AS page_path
FROM kept
