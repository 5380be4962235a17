CREATE OR REPLACE TEMPORARY TABLE identity__relabeled AS
SELECT
  s.*
  EXCLUDE (stitched_uid, attribution),
  l.stitched_uid,
  l.attribution
FROM stitched_events AS s
JOIN identity__labels AS l
  ON l.cid = s.cid AND l.event_key = s.event_key AND l.shard_date = s.shard_date
WHERE
  NOT (
    CASE
      WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
      THEN FALSE
      WHEN ARRAY_CONTAINS($changed_dates, l.shard_date)
      THEN TRUE
      WHEN l.shard_date IS NULL
      OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
      THEN NULL
      ELSE FALSE
    END
  )
  AND (
    s.stitched_uid IS DISTINCT FROM l.stitched_uid OR s.attribution <> l.attribution
  )
  AND s.cid IN (
    SELECT
      cid
    FROM (
      SELECT
        cid,
        event_key
      FROM identity__labels
      WHERE
        NOT (
          CASE
            WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
            THEN FALSE
            WHEN ARRAY_CONTAINS($changed_dates, shard_date)
            THEN TRUE
            WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
            THEN NULL
            ELSE FALSE
          END
        )
    )
  )
  AND s.event_key IN (
    SELECT
      event_key
    FROM (
      SELECT
        cid,
        event_key
      FROM identity__labels
      WHERE
        NOT (
          CASE
            WHEN $changed_dates IS NULL OR ARRAY_LENGTH($changed_dates) = 0
            THEN FALSE
            WHEN ARRAY_CONTAINS($changed_dates, shard_date)
            THEN TRUE
            WHEN shard_date IS NULL OR ARRAY_LENGTH($changed_dates) <> LIST_COUNT($changed_dates)
            THEN NULL
            ELSE FALSE
          END
        )
    )
  )
