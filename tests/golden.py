"""Golden-file snapshots of rendered SQL, reviewed like code.

`assert_golden(name, backend_sql_by_dialect)` compares each dialect's SQL with
`tests/golden/<name>.<dialect>.sql`; run with `UPDATE_GOLDEN=1` to rewrite them. Every BigQuery
snapshot must also parse with sqlglot's BigQuery dialect.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlglot

GOLDEN_DIR = Path(__file__).parent / "golden"


def pretty(sql: str, dialect: str) -> str:
    statements = sqlglot.parse(sql, read=dialect)
    return (
        ";\n".join(s.sql(dialect=dialect, pretty=True) for s in statements if s is not None) + "\n"
    )


def assert_golden(name: str, dialect: str, sql: str) -> None:
    if dialect == "bigquery":
        # Raises on anything BigQuery's grammar (as sqlglot knows it) would reject.
        sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    text = pretty(sql, dialect)
    path = GOLDEN_DIR / f"{name}.{dialect}.sql"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(
                f"missing golden file {path}; run tests with UPDATE_GOLDEN=1 and review"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"rendered SQL differs from {path} (UPDATE_GOLDEN=1 to accept)"
    )
