DELETE FROM `demo-project`.cdp.identity_flags
WHERE
  uid IN (
    SELECT
      uid
    FROM `demo-project`.cdp.identity__affected_uids
  )
