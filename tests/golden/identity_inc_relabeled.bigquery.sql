CREATE OR REPLACE TABLE `demo-project`.cdp.identity__relabeled AS
SELECT
  s.*
  EXCEPT (stitched_uid, attribution),
  l.stitched_uid,
  l.attribution
FROM `demo-project`.cdp.stitched_events AS s
JOIN `demo-project`.cdp.identity__labels AS l
  ON l.cid = s.cid AND l.event_key = s.event_key AND l.shard_date = s.shard_date
WHERE
  NOT (
    l.shard_date IN UNNEST(@changed_dates)
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
      FROM `demo-project`.cdp.identity__labels
      WHERE
        NOT (
          shard_date IN UNNEST(@changed_dates)
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
      FROM `demo-project`.cdp.identity__labels
      WHERE
        NOT (
          shard_date IN UNNEST(@changed_dates)
        )
    )
  )
