"""The GA4 BigQuery export: its schema, loading extracts of it, and staging it."""
