INSERT INTO identity_links
SELECT
  *
FROM identity__links_new
