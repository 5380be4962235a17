WITH ev AS NOT MATERIALIZED (
  SELECT
    COALESCE(stitched_uid, 'cid:' || cid) AS person,
    stitched_uid AS uid,
    event_timestamp AS ts,
    event_key,
    event_date AS day,
    device_category,
    (
      event_name = 'session_start'
    ) AS s1,
    (
      event_name = 'page_view' AND STARTS_WITH(page_path, '/models/')
    ) AS s2,
    (
      event_name = 'test_drive_click'
    ) AS s3,
    (
      event_name = 'form_start'
    ) AS s4,
    (
      event_name = 'test_drive_submit'
    ) AS s5
  FROM stitched_events
  WHERE
    event_timestamp >= $as_of_us - 2419200000000
    AND event_timestamp <= $as_of_us
    AND event_date >= CAST(MAKE_TIMESTAMP($as_of_us - 2419200000000 - 86400000000) AS DATE)
    AND (
      event_name = 'session_start'
      OR (
        event_name = 'page_view' AND STARTS_WITH(page_path, '/models/')
      )
      OR event_name = 'test_drive_click'
      OR event_name = 'form_start'
      OR event_name = 'test_drive_submit'
    )
    AND COALESCE(analytics_storage, '') <> 'No'
    AND NOT COALESCE(stitched_uid, cid) IS NULL
), entry_days AS NOT MATERIALIZED (
  SELECT
    person,
    MAX(uid) AS uid,
    day,
    ARG_MIN(device_category, ts) AS device_category,
    MIN(ts) AS t1,
    MIN(CASE WHEN ts = first_ts THEN event_key ELSE NULL END) AS key1
  FROM (
    SELECT
      *,
      MIN(ts) OVER (PARTITION BY person, day) AS first_ts
    FROM ev
    WHERE
      s1
  ) AS s
  GROUP BY
    person,
    day
), step1 AS NOT MATERIALIZED (
  SELECT
    *,
    LEAD(t1) OVER (PARTITION BY person ORDER BY t1) AS next_t1
  FROM entry_days
), step2 AS NOT MATERIALIZED (
  SELECT
    person,
    uid,
    day,
    device_category,
    next_t1,
    t1,
    key1,
    t2,
    key2
  FROM (
    SELECT
      f.person,
      f.uid,
      f.day,
      f.device_category,
      f.next_t1,
      f.t1,
      f.key1,
      e.ts AS t2,
      e.event_key AS key2,
      ROW_NUMBER() OVER (PARTITION BY f.person, f.day ORDER BY e.ts, e.event_key) AS rn
    FROM step1 AS f
    LEFT JOIN ev AS e
      ON e.person = f.person
      AND e.s2
      AND e.ts >= f.t1
      AND e.ts <= f.t1 + 604800000000
      AND (
        f.next_t1 IS NULL OR e.ts < f.next_t1
      )
      AND NOT (
        e.ts = f.t1 AND e.event_key = f.key1
      )
  ) AS c
  WHERE
    rn = 1
), step3 AS NOT MATERIALIZED (
  SELECT
    person,
    uid,
    day,
    device_category,
    next_t1,
    t1,
    key1,
    t2,
    key2,
    t3,
    key3
  FROM (
    SELECT
      f.person,
      f.uid,
      f.day,
      f.device_category,
      f.next_t1,
      f.t1,
      f.key1,
      f.t2,
      f.key2,
      e.ts AS t3,
      e.event_key AS key3,
      ROW_NUMBER() OVER (PARTITION BY f.person, f.day ORDER BY e.ts, e.event_key) AS rn
    FROM step2 AS f
    LEFT JOIN ev AS e
      ON e.person = f.person
      AND e.s3
      AND e.ts >= f.t2
      AND e.ts <= f.t1 + 604800000000
      AND (
        f.next_t1 IS NULL OR e.ts < f.next_t1
      )
      AND NOT (
        e.ts = f.t1 AND e.event_key = f.key1
      )
      AND NOT (
        e.ts = f.t2 AND e.event_key = f.key2
      )
  ) AS c
  WHERE
    rn = 1
), step4 AS NOT MATERIALIZED (
  SELECT
    person,
    uid,
    day,
    device_category,
    next_t1,
    t1,
    key1,
    t2,
    key2,
    t3,
    key3,
    t4,
    key4
  FROM (
    SELECT
      f.person,
      f.uid,
      f.day,
      f.device_category,
      f.next_t1,
      f.t1,
      f.key1,
      f.t2,
      f.key2,
      f.t3,
      f.key3,
      e.ts AS t4,
      e.event_key AS key4,
      ROW_NUMBER() OVER (PARTITION BY f.person, f.day ORDER BY e.ts, e.event_key) AS rn
    FROM step3 AS f
    LEFT JOIN ev AS e
      ON e.person = f.person
      AND e.s4
      AND e.ts >= f.t3
      AND e.ts <= f.t1 + 604800000000
      AND (
        f.next_t1 IS NULL OR e.ts < f.next_t1
      )
      AND NOT (
        e.ts = f.t1 AND e.event_key = f.key1
      )
      AND NOT (
        e.ts = f.t2 AND e.event_key = f.key2
      )
      AND NOT (
        e.ts = f.t3 AND e.event_key = f.key3
      )
  ) AS c
  WHERE
    rn = 1
), step5 AS NOT MATERIALIZED (
  SELECT
    person,
    uid,
    day,
    device_category,
    next_t1,
    t1,
    key1,
    t2,
    key2,
    t3,
    key3,
    t4,
    key4,
    t5
  FROM (
    SELECT
      f.person,
      f.uid,
      f.day,
      f.device_category,
      f.next_t1,
      f.t1,
      f.key1,
      f.t2,
      f.key2,
      f.t3,
      f.key3,
      f.t4,
      f.key4,
      e.ts AS t5,
      ROW_NUMBER() OVER (PARTITION BY f.person, f.day ORDER BY e.ts, e.event_key) AS rn
    FROM step4 AS f
    LEFT JOIN ev AS e
      ON e.person = f.person
      AND e.s5
      AND e.ts >= f.t4
      AND e.ts <= f.t1 + 604800000000
      AND (
        f.next_t1 IS NULL OR e.ts < f.next_t1
      )
      AND NOT (
        e.ts = f.t1 AND e.event_key = f.key1
      )
      AND NOT (
        e.ts = f.t2 AND e.event_key = f.key2
      )
      AND NOT (
        e.ts = f.t3 AND e.event_key = f.key3
      )
      AND NOT (
        e.ts = f.t4 AND e.event_key = f.key4
      )
  ) AS c
  WHERE
    rn = 1
)
SELECT
  person,
  uid,
  day,
  device_category,
  t1,
  t2,
  t3,
  t4,
  t5,
  1 + CASE WHEN NOT t2 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t3 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t4 IS NULL THEN 1 ELSE 0 END + CASE WHEN NOT t5 IS NULL THEN 1 ELSE 0 END AS reached
FROM step5
