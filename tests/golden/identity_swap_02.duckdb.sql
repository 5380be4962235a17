INSERT INTO identity_flags
SELECT
  *
FROM identity__flags_new
