"""Local stand-ins for the external systems the product talks to (tests and demos only)."""
