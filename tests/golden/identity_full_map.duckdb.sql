CREATE OR REPLACE TABLE identity_map AS
SELECT
  p.cid,
  p.uid,
  p.interval_no,
  CASE WHEN p.interval_no = 1 THEN fe.first_ts ELSE p.login_ts END AS valid_from,
  CASE WHEN p.interval_no = 1 THEN fe.first_key ELSE p.login_key END AS valid_from_key,
  p.next_ts AS valid_to,
  p.next_key AS valid_to_key,
  p.status
FROM identity__spans AS p
JOIN identity__first_events AS fe
  ON fe.cid = p.cid
