DELETE FROM `demo-project`.cdp.identity_flags
WHERE
  TRUE
