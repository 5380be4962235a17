DELETE FROM `demo-project`.cdp.identity_state
WHERE
  TRUE
