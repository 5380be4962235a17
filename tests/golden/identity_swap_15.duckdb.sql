INSERT INTO identity_map
SELECT
  *
FROM identity__map_new
