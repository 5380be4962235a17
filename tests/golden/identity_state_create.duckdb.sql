CREATE TABLE IF NOT EXISTS identity_state (
  settings_hash TEXT,
  staged_watermark TIMESTAMPTZ,
  built_at TIMESTAMPTZ,
  mode TEXT
)
