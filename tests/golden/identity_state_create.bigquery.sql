CREATE TABLE IF NOT EXISTS `demo-project`.cdp.identity_state (
  settings_hash STRING,
  staged_watermark TIMESTAMP,
  built_at TIMESTAMP,
  mode STRING
)
