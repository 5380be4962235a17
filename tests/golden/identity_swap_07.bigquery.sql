DELETE FROM `demo-project`.cdp.stitched_events
WHERE
  cid IN (
    SELECT
      cid
    FROM `demo-project`.cdp.identity__scope
  )
  OR (
    cid IS NULL
    AND (
      shard_date IN UNNEST(@changed_dates)
      OR uid IN (
        SELECT
          uid
        FROM `demo-project`.cdp.identity__changed_uids
      )
    )
  )
