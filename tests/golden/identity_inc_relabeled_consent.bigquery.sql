INSERT INTO `demo-project`.cdp.identity__relabeled
SELECT
  *
  EXCEPT (old_uid)
FROM (
  SELECT
    s.*
    EXCEPT (stitched_uid, attribution),
    CASE
      WHEN @include_consent_denied
      AND NOT s.uid IS NULL
      AND (
        NOT c.is_suspicious OR @keep_suspicious_logins
      )
      THEN s.uid
    END AS stitched_uid,
    s.attribution,
    s.stitched_uid AS old_uid
  FROM `demo-project`.cdp.stitched_events AS s
  JOIN `demo-project`.cdp.identity__changed_uids AS c
    ON c.uid = s.uid
  WHERE
    s.cid IS NULL AND NOT (
      s.shard_date IN UNNEST(@changed_dates)
    )
)
WHERE
  stitched_uid IS DISTINCT FROM old_uid
