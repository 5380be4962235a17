"""Warehouse backends: BigQuery in production, DuckDB embedded (default, tests)."""

from cdp.backends.base import Backend

__all__ = ["Backend"]
