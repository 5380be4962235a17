"""DuckDB dialect hooks: rewrites that must keep GoogleSQL's results."""

from __future__ import annotations

import re

import pytest

from cdp.backends.duckdb import DuckDBBackend

# GoogleSQL: `x IN UNNEST(arr)` is NULL for a NULL x, unless arr is empty or NULL (FALSE).
IN_UNNEST_CASES = [
    ("a", ["a", "b"], True),
    ("z", ["a", "b"], False),
    ("a", [], False),
    ("a", None, False),
    (None, ["a"], None),
    (None, [], False),
    (None, None, False),
]


@pytest.mark.parametrize(("value", "array", "expected"), IN_UNNEST_CASES)
def test_in_unnest_of_a_parameter_keeps_googlesql_semantics(
    value: str | None, array: list[str] | None, expected: bool | None
) -> None:
    with DuckDBBackend() as duck:
        sql = (
            "SELECT @x IN UNNEST(@arr) AS hit, NOT (@x IN UNNEST(@arr)) AS miss "
            "FROM UNNEST([CAST(@x AS STRING)]) AS typed"
        )
        row = duck.query(sql, {"x": value, "arr": array}).to_pylist()[0]
    assert row["hit"] is expected
    assert row["miss"] is (None if expected is None else not expected)


@pytest.mark.parametrize("negated", [False, True])
def test_in_unnest_of_a_parameter_prunes_row_groups(negated: bool) -> None:
    """The rewrite exists so that a date filter (or its NOT) skips row groups by zone maps."""
    where = "NOT (d IN UNNEST(@dates))" if negated else "d IN UNNEST(@dates)"
    with DuckDBBackend() as duck:
        # Five row groups of 122,880 rows; d = '0' fills the first two and no more.
        duck.execute(
            "CREATE TABLE t AS SELECT i, IF(i < 245760, '0', '1') AS d FROM UNNEST("
            "GENERATE_ARRAY(0, 614399)) AS i"
        )
        text = duck.render(f"SELECT COUNT(*) FROM t WHERE {where}")
        plan = duck.con.execute(f"EXPLAIN ANALYZE {text}", {"dates": ["0"]}).fetchall()[0][1]
        count = duck.scalar(f"SELECT COUNT(*) FROM t WHERE {where}", {"dates": ["0"]})
    assert count == (614400 - 245760 if negated else 245760)
    found = re.search(r"Row Groups Scanned: (\d+) / (\d+)", plan)
    assert found is not None, plan
    scanned, total = map(int, found.groups())
    assert scanned < total
