DELETE FROM `demo-project`.cdp.identity_map AS m
WHERE
  EXISTS(
    SELECT
      1
    FROM `demo-project`.cdp.identity__scope AS s
    WHERE
      s.cid = m.cid AND (
        s.whole OR m.interval_no >= s.kept
      )
  )
