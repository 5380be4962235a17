INSERT INTO `demo-project`.cdp.identity_state (
  settings_hash,
  staged_watermark,
  built_at,
  mode
)
SELECT
  @settings_hash,
  (
    SELECT
      MAX(staged_at)
    FROM `demo-project`.cdp.identity__watermark
  ),
  CURRENT_TIMESTAMP(),
  @mode
