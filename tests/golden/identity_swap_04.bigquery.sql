INSERT INTO `demo-project`.cdp.identity_link_sessions
SELECT
  *
FROM `demo-project`.cdp.identity__sessions_new
