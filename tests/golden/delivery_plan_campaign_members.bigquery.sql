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
    s.`audience`,
    s.`entered_at`,
    s.`qualifying_events`,
    s.`last_event_at`,
    s.`run_id`,
    s.`is_holdout`
  FROM `demo-project`.cdp.audience_members AS s
  JOIN `demo-project`.cdp.profiles AS p
    ON p.uid = s.uid
  WHERE
    s.audience = 'ev9_interest'
    AND NOT COALESCE(s.is_holdout, FALSE)
    AND NOT COALESCE(p.opted_out, FALSE)
), keyed AS (
  SELECT
    CAST(src.`crm_record_id` AS STRING) AS _cdp_key,
    CONCAT('7015Lw000000001QAA', ':', CAST(src.`crm_record_id` AS STRING)) AS v0,
    '7015Lw000000001QAA' AS v1,
    IF(src.`record_type` = 'Lead', NULL, src.`crm_record_id`) AS v2,
    IF(src.`record_type` = 'Lead', src.`crm_record_id`, NULL) AS v3,
    'Sent' AS v4,
    'ev9_interest' AS v5
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
            '["CDP_Member_Key__c", "CampaignId", "ContactId", "LeadId", "Status", "CDP_Audience__c"]' AS fields,
            keyed.v0 AS v0,
            keyed.v1 AS v1,
            keyed.v2 AS v2,
            keyed.v3 AS v3,
            keyed.v4 AS v4,
            keyed.v5 AS v5
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
    destination = 'ev9_interest_campaign'
), diff AS (
  SELECT
    CASE
      WHEN d._cdp_key IS NULL
      THEN 'remove'
      WHEN s.key IS NULL OR s.status = 'exited' OR s.first_sent_at IS NULL
      THEN 'add'
      ELSE 'update'
    END AS _cdp_op,
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
    d.v5
  FROM desired AS d
  FULL OUTER JOIN state AS s
    ON s.key = d._cdp_key
  WHERE
    (
      NOT d._cdp_key IS NULL
      AND (
        s.key IS NULL
        OR s.status IN ('failed', 'exited')
        OR (
          s.status IN ('sent', 'dead', 'stuck') AND s.payload_hash <> d._cdp_hash
        )
      )
    )
    OR (
      d._cdp_key IS NULL
      AND (
        s.status IN ('sent', 'failed')
        OR (
          s.status = 'dead' AND NOT s.first_sent_at IS NULL
        )
      )
    )
)
SELECT
  diff.*,
  ROW_NUMBER() OVER (ORDER BY IF(_cdp_op = 'remove', 0, 1), _cdp_key) AS _cdp_seq
FROM diff
