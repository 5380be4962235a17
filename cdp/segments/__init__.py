"""What audiences, triggers and funnels share: event filters compiled to sqlglot expressions."""
