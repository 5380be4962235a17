DELETE FROM identity_state
WHERE
  TRUE
