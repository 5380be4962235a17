INSERT INTO identity__relabeled
SELECT
  *
  EXCLUDE (old_uid)
FROM (
  SELECT
    s.*
    EXCLUDE (stitched_uid, attribution),
    CASE
      WHEN $include_consent_denied
      AND NOT s.uid IS NULL
      AND (
        NOT c.is_suspicious OR $keep_suspicious_logins
      )
      THEN s.uid
    END AS stitched_uid,
    s.attribution,
    s.stitched_uid AS old_uid
  FROM stitched_events AS s
  JOIN identity__changed_uids AS c
    ON c.uid = s.uid
  WHERE
    s.cid IS NULL
    AND NOT (
      ARRAY_CONTAINS(COALESCE($changed_dates, []), s.shard_date)
    )
)
WHERE
  stitched_uid IS DISTINCT FROM old_uid
