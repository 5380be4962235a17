DELETE FROM identity_flags
WHERE
  TRUE
