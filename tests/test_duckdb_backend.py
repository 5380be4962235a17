"""DuckDB dialect hooks: rewrites that must keep GoogleSQL's results."""

from __future__ import annotations

import re

import pytest

from cdp.backends.duckdb import DuckDBBackend

# GoogleSQL: `x IN UNNEST(arr)` is NULL for a NULL x (unless arr is empty: FALSE).
IN_UNNEST_CASES = [
    ("a", ["a", "b"], True),
    ("z", ["a", "b"], False),
    ("a", [], False),
    (None, ["a"], None),
    (None, [], False),
]


@pytest.mark.parametrize(("value", "array", "expected"), IN_UNNEST_CASES)
def test_in_unnest_of_a_parameter_keeps_googlesql_semantics(
    value: str | None, array: list[str], expected: bool | None
) -> None:
    with DuckDBBackend() as duck:
        sql = "SELECT @x IN UNNEST(@arr) AS hit, NOT (@x IN UNNEST(@arr)) AS miss"
        row = duck.query(sql, {"x": value, "arr": array}).to_pylist()[0]
    assert row["hit"] is expected
    assert row["miss"] is (None if expected is None else not expected)


def test_in_unnest_of_a_parameter_prunes_row_groups() -> None:
    """The rewrite exists so that a date filter skips other dates' row groups (zone maps)."""
    with DuckDBBackend() as duck:
        duck.con.execute(
            "CREATE TABLE t AS SELECT i, CAST(i // 200000 AS VARCHAR) AS d FROM range(600000) r(i)"
        )
        text, bound = duck._bind(
            "SELECT COUNT(*) FROM t WHERE d IN UNNEST(@dates)", {"dates": ["1"]}
        )
        assert "LIST_CONTAINS" in text
        plan = duck.con.execute(f"EXPLAIN ANALYZE {text}", bound).fetchall()[0][1]
        assert duck.query(
            "SELECT COUNT(*) AS n FROM t WHERE d IN UNNEST(@d)", {"d": ["1"]}
        ).to_pylist() == [{"n": 200000}]
    scanned, total = map(int, re.search(r"Row Groups Scanned: (\d+) / (\d+)", plan).groups())  # type: ignore[union-attr]
    assert scanned < total
