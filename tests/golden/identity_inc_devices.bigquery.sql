CREATE OR REPLACE TABLE `demo-project`.cdp.identity__devices_new AS
SELECT
  l.cid,
  COUNT(*) AS n_uids_seen,
  COUNTIF(f.uid IS NULL) AS n_uids,
  COUNTIF(f.uid IS NULL) > @max_users_per_device AS is_shared,
  MIN(l.first_seen) AS first_login,
  MAX(l.last_seen) AS last_login
FROM (
  SELECT
    *
  FROM `demo-project`.cdp.identity__links_new
  UNION ALL
  SELECT
    *
  FROM `demo-project`.cdp.identity_links
  WHERE
    cid IN (
      SELECT
        cid
      FROM (
        SELECT
          cid,
          LOGICAL_OR(flipped) AS flipped
        FROM (
          SELECT
            cid,
            FALSE AS flipped
          FROM `demo-project`.cdp.identity__scope0
          UNION ALL
          SELECT
            cid,
            TRUE AS flipped
          FROM (
            SELECT
              cid,
              uid
            FROM `demo-project`.cdp.identity_links
            UNION ALL
            SELECT
              cid,
              uid
            FROM `demo-project`.cdp.identity__links_new
          )
          WHERE
            uid IN (
              SELECT
                uid
              FROM `demo-project`.cdp.identity__changed_uids
            )
        )
        GROUP BY
          cid
      )
      WHERE
        flipped
    )
    AND NOT cid IN (
      SELECT
        cid
      FROM `demo-project`.cdp.identity__scope0
    )
) AS l
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM (
    SELECT
      *
    FROM `demo-project`.cdp.identity_flags
    WHERE
      NOT uid IN (
        SELECT
          uid
        FROM `demo-project`.cdp.identity__affected_uids
      )
    UNION ALL
    SELECT
      *
    FROM `demo-project`.cdp.identity__flags_new
  )
  WHERE
    is_suspicious
) AS f
  ON f.uid = l.uid
GROUP BY
  l.cid
