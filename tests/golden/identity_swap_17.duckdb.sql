INSERT INTO identity_junk
WITH src AS NOT MATERIALIZED (
  SELECT
    *,
    CASE
      WHEN uid IS NULL
      OR ARRAY_CONTAINS(COALESCE($junk_uids, []), LOWER(uid))
      OR REGEXP_MATCHES(uid, $junk_pattern)
      THEN NULL
      ELSE uid
    END AS clean_uid
  FROM stg_events
  WHERE
    ARRAY_CONTAINS(COALESCE($changed_dates, []), shard_date)
)
SELECT
  shard_date,
  event_date,
  uid,
  COUNT(*) AS events,
  COUNT(DISTINCT cid) AS cids
FROM src
WHERE
  NOT uid IS NULL AND clean_uid IS NULL
GROUP BY
  shard_date,
  event_date,
  uid
