from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from cdp.backends.bigquery import BigQueryBackend
from cdp.backends.duckdb import DuckDBBackend


@pytest.fixture
def duck() -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(":memory:")
    yield backend
    backend.close()


@pytest.fixture
def bq_renderer() -> BigQueryBackend:
    """A BigQuery backend used only to render SQL (no client is created until a job runs)."""
    return BigQueryBackend(
        project="demo-project", export_dataset="analytics_123456789", product_dataset="cdp"
    )


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session (starting it takes seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
