CREATE OR REPLACE TABLE identity__changed_uids AS
SELECT
  COALESCE(o.uid, n.uid) AS uid
FROM identity_flags AS o
FULL OUTER JOIN identity__flags_new AS n
  ON n.uid = o.uid
WHERE
  COALESCE(o.is_suspicious, FALSE) <> COALESCE(n.is_suspicious, FALSE)
