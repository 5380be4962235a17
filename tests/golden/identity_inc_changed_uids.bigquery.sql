CREATE OR REPLACE TABLE `demo-project`.cdp.identity__changed_uids AS
SELECT
  COALESCE(o.uid, n.uid) AS uid,
  COALESCE(n.is_suspicious, FALSE) AS is_suspicious
FROM (
  SELECT
    uid,
    is_suspicious
  FROM `demo-project`.cdp.identity_flags
  WHERE
    uid IN (
      SELECT
        uid
      FROM `demo-project`.cdp.identity__affected_uids
    )
) AS o
FULL OUTER JOIN `demo-project`.cdp.identity__flags_new AS n
  ON n.uid = o.uid
WHERE
  COALESCE(o.is_suspicious, FALSE) <> COALESCE(n.is_suspicious, FALSE)
