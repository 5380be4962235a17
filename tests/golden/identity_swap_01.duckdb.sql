DELETE FROM identity_flags
WHERE
  uid IN (
    SELECT
      uid
    FROM identity__affected_uids
  )
