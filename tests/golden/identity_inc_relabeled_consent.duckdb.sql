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
      CASE
        WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
        THEN FALSE
        WHEN ARRAY_CONTAINS($changed_dates, s.shard_date)
        THEN TRUE
        WHEN s.shard_date IS NULL
        OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
        THEN NULL
        ELSE FALSE
      END
    )
)
WHERE
  stitched_uid IS DISTINCT FROM old_uid
