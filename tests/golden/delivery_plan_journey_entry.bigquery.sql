WITH src AS (
  SELECT
    p.`uid`,
    p.`crm_record_id`,
    p.`record_type`,
    p.`email`,
    p.`opted_out`,
    p.`customer_type`,
    p.`device_count`,
    p.`first_seen`,
    p.`last_seen`,
    p.`crm_matched`,
    s.`trigger`,
    s.`start_event_key`,
    s.`start_event_ts`,
    s.`fired_at`,
    s.`deliver_after`,
    s.`expires_at`,
    s.`model`,
    CONCAT(s.`trigger`, '|', s.uid, '|', s.start_event_key) AS delivery_key
  FROM `demo-project`.cdp.trigger_firings AS s
  JOIN `demo-project`.cdp.profiles AS p
    ON p.uid = s.uid
  WHERE
    s.`trigger` IN ('test_drive_abandon')
    AND (
      s.deliver_after IS NULL OR s.deliver_after <= @now
    )
    AND (
      s.expires_at IS NULL OR s.expires_at > @now
    )
    AND NOT s.`trigger` IN UNNEST(@held_triggers)
    AND NOT COALESCE(p.opted_out, FALSE)
), keyed AS (
  SELECT
    src.delivery_key AS _cdp_key,
    CAST(src.`crm_record_id` AS STRING) AS v0,
    src.`uid` AS v1,
    src.`email` AS v2,
    src.`model` AS v3,
    src.`fired_at` AS v4,
    src.`delivery_key` AS w0,
    src.`trigger` AS w1,
    src.`crm_record_id` AS w2,
    src.`uid` AS w3,
    src.`fired_at` AS w4
  FROM src
  WHERE
    NOT src.`crm_record_id` IS NULL
), desired AS (
  SELECT
    keyed.*,
    TO_HEX(
      MD5(
        TO_JSON_STRING(
          STRUCT(
            keyed._cdp_key AS k,
            '["__contact_key", "uid", "email", "model", "fired_at", "firing_id", "trigger_key", "contact_key", "uid", "fired_at"]' AS fields,
            keyed.v0 AS v0,
            keyed.v1 AS v1,
            keyed.v2 AS v2,
            keyed.v3 AS v3,
            keyed.v4 AS v4
          )
        )
      )
    ) AS _cdp_hash
  FROM keyed
  WHERE
    TRUE
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY keyed._cdp_key ORDER BY _cdp_hash) = 1
), state AS (
  SELECT
    *
  FROM `demo-project`.cdp.delivery_state
  WHERE
    destination = 'test_drive_abandon_journey'
), diff AS (
  SELECT
    'add' AS _cdp_op,
    COALESCE(d._cdp_key, s.key) AS _cdp_key,
    COALESCE(d._cdp_hash, s.payload_hash) AS _cdp_hash,
    s.payload_hash AS _cdp_prev_hash,
    s.status AS _cdp_status,
    s.remote_id AS _cdp_remote_id,
    s.owned AS _cdp_owned,
    COALESCE(s.attempts, 0) AS _cdp_attempts,
    s.first_sent_at AS _cdp_first_sent_at,
    d.v0,
    d.v1,
    d.v2,
    d.v3,
    d.v4,
    d.w0,
    d.w1,
    d.w2,
    d.w3,
    d.w4
  FROM desired AS d
  LEFT JOIN state AS s
    ON s.key = d._cdp_key
  WHERE
    s.key IS NULL OR s.status = 'failed'
)
SELECT
  diff.*,
  ROW_NUMBER() OVER (ORDER BY IF(_cdp_op = 'remove', 0, 1), _cdp_key) AS _cdp_seq
FROM diff
