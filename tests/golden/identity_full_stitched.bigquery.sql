CREATE OR REPLACE TABLE `demo-project`.cdp.stitched_events
PARTITION BY event_date
CLUSTER BY cid, event_name AS
WITH src AS (
  SELECT
    *,
    CASE
      WHEN uid IS NULL
      OR LOWER(uid) IN UNNEST(@junk_uids)
      OR REGEXP_CONTAINS(uid, @junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM `demo-project`.cdp.stg_events
)
SELECT
  s.*
  EXCEPT (clean_uid),
  CASE
    WHEN NOT b.cid IS NULL
    THEN b.stitched_uid
    WHEN s.cid IS NULL
    THEN CASE
      WHEN @include_consent_denied
      AND NOT s.clean_uid IS NULL
      AND (
        NOT COALESCE(own.is_suspicious, FALSE) OR @keep_suspicious_logins
      )
      THEN s.clean_uid
    END
    WHEN NOT s.clean_uid IS NULL
    THEN IF(
      COALESCE(own.is_suspicious, FALSE) AND NOT @keep_suspicious_logins,
      NULL,
      s.clean_uid
    )
    WHEN p.status = 'active' OR (
      p.status = 'shared' AND @attribute_shared_devices
    )
    THEN p.uid
  END AS stitched_uid,
  CASE
    WHEN NOT b.cid IS NULL
    THEN b.attribution
    WHEN s.cid IS NULL
    THEN 'consent_denied'
    WHEN NOT s.clean_uid IS NULL AND COALESCE(own.is_suspicious, FALSE)
    THEN 'suspicious_uid'
    WHEN NOT s.clean_uid IS NULL
    THEN 'login'
    WHEN p.cid IS NULL
    THEN 'none'
    WHEN p.status = 'suspicious'
    THEN 'suspicious_uid'
    WHEN p.status = 'shared' AND NOT @attribute_shared_devices
    THEN 'shared_device'
    WHEN p.interval_no = 1
    AND NOT (
      s.event_ts > p.login_ts
      OR (
        s.event_ts = p.login_ts AND s.event_key >= p.login_key
      )
    )
    THEN 'backfill'
    ELSE 'after_logout'
  END AS attribution
FROM src AS s
LEFT JOIN (
  SELECT
    *
  FROM `demo-project`.cdp.identity__spans
  WHERE
    NOT cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__busy_devices
    )
) AS p
  ON p.cid = s.cid
  AND s.clean_uid IS NULL
  AND (
    p.interval_no = 1
    OR (
      s.event_ts > p.login_ts
      OR (
        s.event_ts = p.login_ts AND s.event_key >= p.login_key
      )
    )
  )
  AND (
    p.next_ts IS NULL
    OR NOT (
      s.event_ts > p.next_ts
      OR (
        s.event_ts = p.next_ts AND s.event_key >= p.next_key
      )
    )
  )
LEFT JOIN `demo-project`.cdp.identity__busy_labels AS b
  ON b.event_key = s.event_key
  AND b.event_ts = s.event_ts
  AND b.shard_date = s.shard_date
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM `demo-project`.cdp.identity_flags
  WHERE
    is_suspicious
) AS own
  ON own.uid = s.clean_uid
