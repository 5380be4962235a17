INSERT INTO identity_link_sessions
SELECT
  *
FROM identity__sessions_new
