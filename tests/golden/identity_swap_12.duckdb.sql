INSERT INTO identity_junk
SELECT
  *
FROM identity__junk_new
