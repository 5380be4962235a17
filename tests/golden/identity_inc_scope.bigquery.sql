CREATE OR REPLACE TABLE `demo-project`.cdp.identity__scope AS
WITH kept AS (
  SELECT
    m.cid,
    COUNT(*) AS kept
  FROM `demo-project`.cdp.identity_map AS m
  JOIN `demo-project`.cdp.identity__scope0 AS c
    ON c.cid = m.cid
  WHERE
    NOT (
      m.valid_from > c.cut_ts
      OR (
        m.valid_from = c.cut_ts AND m.valid_from_key >= c.cut_key
      )
    )
  GROUP BY
    m.cid
), modes AS (
  SELECT
    sc.cid,
    c.cut_ts,
    c.cut_key,
    k.kept,
    last_kept.uid AS carry_uid,
    first_kept.uid AS first_uid,
    last_kept.valid_from AS kept_from,
    last_kept.valid_from_key AS kept_from_key,
    last_kept.status AS kept_status,
    (
      NOT od.cid IS NULL OR NOT nd.cid IS NULL
    ) /* A CID with no login before or after this run stays anonymous: its suffix is enough. */
    AND (
      c.cid IS NULL
      OR sc.flipped
      OR COALESCE(od.is_shared, FALSE) <> COALESCE(nd.is_shared, FALSE)
      OR od.first_login IS NULL
      OR od.first_login >= c.cut_ts
      OR last_kept.uid IS NULL
      OR first_kept.uid IS NULL
    ) AS whole
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
  ) AS sc
  LEFT JOIN `demo-project`.cdp.identity__scope0 AS c
    ON c.cid = sc.cid
  LEFT JOIN `demo-project`.cdp.identity_devices AS od
    ON od.cid = sc.cid
  LEFT JOIN `demo-project`.cdp.identity__devices_new AS nd
    ON nd.cid = sc.cid
  LEFT JOIN kept AS k
    ON k.cid = sc.cid
  LEFT JOIN `demo-project`.cdp.identity_map AS last_kept
    ON last_kept.cid = sc.cid AND last_kept.interval_no = k.kept
  LEFT JOIN `demo-project`.cdp.identity_map AS first_kept
    ON first_kept.cid = sc.cid AND first_kept.interval_no = 1
)
SELECT
  cid,
  whole,
  IF(whole, NULL, cut_ts) AS cut_ts,
  IF(whole, NULL, cut_key) AS cut_key,
  IF(whole, NULL, carry_uid) AS carry_uid,
  IF(whole, NULL, first_uid) AS first_uid,
  IF(whole, 0, COALESCE(kept, 0)) AS kept,
  IF(whole, NULL, kept_from) AS kept_from,
  IF(whole, NULL, kept_from_key) AS kept_from_key,
  IF(whole, NULL, kept_status) AS kept_status
FROM modes
