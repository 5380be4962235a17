INSERT INTO identity_state (
  settings_hash,
  staged_watermark,
  built_at,
  mode
)
SELECT
  $settings_hash,
  (
    SELECT
      MAX(staged_at)
    FROM identity__watermark
  ),
  CURRENT_TIMESTAMP,
  $mode
