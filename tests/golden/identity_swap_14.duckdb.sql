INSERT INTO identity_map
SELECT
  s.cid,
  s.carry_uid AS uid,
  s.kept AS interval_no,
  s.kept_from AS valid_from,
  s.kept_from_key AS valid_from_key,
  n.valid_from AS valid_to,
  n.valid_from_key AS valid_to_key,
  s.kept_status AS status
FROM identity__scope AS s
LEFT JOIN identity__map_new AS n
  ON n.cid = s.cid AND n.interval_no = s.kept + 1
WHERE
  NOT s.whole AND s.kept > 0
