WITH src AS NOT MATERIALIZED (
  SELECT
    p."uid",
    p."crm_record_id",
    p."record_type",
    p."email",
    p."opted_out",
    p."customer_type",
    p."device_count",
    p."first_seen",
    p."last_seen",
    p."crm_matched",
    s."audience",
    s."entered_at",
    s."qualifying_events",
    s."last_event_at",
    s."run_id",
    s."is_holdout"
  FROM audience_members AS s
  JOIN profiles AS p
    ON p.uid = s.uid
  WHERE
    s.audience = 'ev9_interest'
    AND NOT COALESCE(s.is_holdout, FALSE)
    AND NOT COALESCE(p.opted_out, FALSE)
), keyed AS NOT MATERIALIZED (
  SELECT
    CAST(TO_JSON({'k0': CAST('ev9_interest' AS TEXT), 'k1': CAST(src."crm_record_id" AS TEXT)}) AS TEXT) AS _cdp_key,
    src."crm_record_id" AS v0,
    src."uid" AS v1,
    src."email" AS v2,
    src."customer_type" AS v3,
    src."entered_at" AS v4,
    'ev9_interest' AS v5,
    TRUE AS v6
  FROM src
  WHERE
    NOT 'ev9_interest' IS NULL AND NOT src."crm_record_id" IS NULL
), desired AS NOT MATERIALIZED (
  SELECT
    keyed.*,
    MD5(
      CAST(TO_JSON(
        {'k': keyed._cdp_key, 'fields': '["contact_key", "uid", "email", "customer_type", "updated_at", "audience_key", "is_member"]', 'v0': keyed.v0, 'v1': keyed.v1, 'v2': keyed.v2, 'v3': keyed.v3, 'v4': keyed.v4, 'v5': keyed.v5, 'v6': keyed.v6}
      ) AS TEXT)
    ) AS _cdp_hash
  FROM keyed
  WHERE
    TRUE
  QUALIFY
    ROW_NUMBER() OVER (PARTITION BY keyed._cdp_key ORDER BY _cdp_hash NULLS FIRST) = 1
), state AS NOT MATERIALIZED (
  SELECT
    *
  FROM delivery_state
  WHERE
    destination = 'ev9_interest_de'
), diff AS NOT MATERIALIZED (
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
    d.v5,
    d.v6
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
  ROW_NUMBER() OVER (
    ORDER BY CASE WHEN _cdp_op = 'remove' THEN 0 ELSE 1 END NULLS FIRST, _cdp_key NULLS FIRST
  ) AS _cdp_seq
FROM diff
