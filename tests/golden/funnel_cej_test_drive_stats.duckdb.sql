SELECT
  day,
  device_category,
  step,
  CAST(COUNT_IF(reached) AS BIGINT) AS reached,
  CAST(COUNT_IF(converted) AS BIGINT) AS converted,
  MAX(median_gap_us) / 1000000 AS median_seconds_to_next
FROM (
  SELECT
    *,
    QUANTILE_CONT(gap_us, 0.5) OVER (PARTITION BY day, device_category, step) AS median_gap_us
  FROM (
    SELECT
      day,
      device_category,
      1 AS step,
      NOT t1 IS NULL AS reached,
      NOT t2 IS NULL AS converted,
      t2 - t1 AS gap_us
    FROM funnel_entries__cej_test_drive
    UNION ALL
    SELECT
      day,
      device_category,
      2 AS step,
      NOT t2 IS NULL AS reached,
      NOT t3 IS NULL AS converted,
      t3 - t2 AS gap_us
    FROM funnel_entries__cej_test_drive
    UNION ALL
    SELECT
      day,
      device_category,
      3 AS step,
      NOT t3 IS NULL AS reached,
      NOT t4 IS NULL AS converted,
      t4 - t3 AS gap_us
    FROM funnel_entries__cej_test_drive
    UNION ALL
    SELECT
      day,
      device_category,
      4 AS step,
      NOT t4 IS NULL AS reached,
      NOT t5 IS NULL AS converted,
      t5 - t4 AS gap_us
    FROM funnel_entries__cej_test_drive
    UNION ALL
    SELECT
      day,
      device_category,
      5 AS step,
      NOT t5 IS NULL AS reached,
      NOT NULL IS NULL AS converted,
      CAST(NULL AS BIGINT) AS gap_us
    FROM funnel_entries__cej_test_drive
  ) AS g
) AS m
GROUP BY
  day,
  device_category,
  step
