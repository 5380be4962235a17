CREATE OR REPLACE TABLE `demo-project`.cdp.identity_map
CLUSTER BY cid AS
SELECT
  p.cid,
  p.uid,
  p.interval_no,
  IF(p.interval_no = 1, fe.first_ts, p.login_ts) AS valid_from,
  IF(p.interval_no = 1, fe.first_key, p.login_key) AS valid_from_key,
  p.next_ts AS valid_to,
  p.next_key AS valid_to_key,
  p.status
FROM `demo-project`.cdp.identity__spans AS p
JOIN `demo-project`.cdp.identity__first_events AS fe
  ON fe.cid = p.cid
