CREATE OR REPLACE TEMPORARY TABLE identity__devices_new AS
SELECT
  l.cid,
  COUNT(*) AS n_uids_seen,
  CAST(COUNT_IF(f.uid IS NULL) AS BIGINT) AS n_uids,
  CAST(COUNT_IF(f.uid IS NULL) AS BIGINT) > $max_users_per_device AS is_shared,
  MIN(l.first_seen) AS first_login,
  MAX(l.last_seen) AS last_login
FROM (
  SELECT
    *
  FROM identity__links_new
  UNION ALL
  SELECT
    *
  FROM identity_links
  WHERE
    cid IN (
      SELECT
        cid
      FROM (
        SELECT
          cid,
          BOOL_OR(CAST(flipped AS BOOLEAN)) AS flipped
        FROM (
          SELECT
            cid,
            FALSE AS flipped
          FROM identity__scope0
          UNION ALL
          SELECT
            cid,
            TRUE AS flipped
          FROM (
            SELECT
              cid,
              uid
            FROM identity_links
            UNION ALL
            SELECT
              cid,
              uid
            FROM identity__links_new
          )
          WHERE
            uid IN (
              SELECT
                uid
              FROM identity__changed_uids
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
      FROM identity__scope0
    )
) AS l
LEFT JOIN (
  SELECT
    uid,
    is_suspicious
  FROM (
    SELECT
      *
    FROM identity_flags
    WHERE
      NOT uid IN (
        SELECT
          uid
        FROM identity__affected_uids
      )
    UNION ALL
    SELECT
      *
    FROM identity__flags_new
  )
  WHERE
    is_suspicious
) AS f
  ON f.uid = l.uid
GROUP BY
  l.cid
