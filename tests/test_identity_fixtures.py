"""Identity on the synthetic GA4 export, scored against the generator's ground truth.

Precision: of the events stitched to a UID on devices the truth says are not shared, the share
stitched to the person who really produced them (>= 99.5%). Recall: of the events (with a CID)
by people who ever logged in, the share stitched to the right person; it must equal what the
rules allow at best, i.e. the recall of the pure-Python reference on the same staged events.
"""

from __future__ import annotations

from typing import Any

import pytest

from cdp.backends.duckdb import DuckDBBackend
from cdp.config import IdentitySettings, StagingSettings
from cdp.ga4.staging import stage
from cdp.identity import build_identity
from cdp.identity.reference import stitch

generator = pytest.importorskip("fixtures.ga4_generator")

_TRUTH_SQL = """
WITH truth AS (
  SELECT user_pseudo_id AS cid, event_timestamp, event_name,
         MIN(person_uid) AS person, COUNT(DISTINCT person_uid) AS people
  FROM truth_events
  WHERE user_pseudo_id IS NOT NULL
  GROUP BY 1, 2, 3
)
SELECT s.event_key, s.event_ts, s.cid, s.uid, s.session_key, s.stitched_uid, t.person,
       COALESCE(d.is_shared, FALSE) AS truly_shared,
       p.ever_logged_in
FROM stitched_events AS s
JOIN truth AS t ON t.cid = s.cid AND t.event_timestamp = s.event_timestamp AND t.event_name = s.event_name
JOIN truth_people AS p ON p.person_uid = t.person
LEFT JOIN truth_devices AS d ON d.cid = s.cid
WHERE t.people = 1
"""


def _score(rows: list[dict[str, Any]], uid_of: dict[str, str | None]) -> tuple[float, float]:
    attributed = [r for r in rows if uid_of[r["event_key"]] is not None and not r["truly_shared"]]
    precision = sum(uid_of[r["event_key"]] == r["person"] for r in attributed) / len(attributed)
    eligible = [r for r in rows if r["ever_logged_in"]]
    recall = sum(uid_of[r["event_key"]] == r["person"] for r in eligible) / len(eligible)
    return precision, recall


@pytest.mark.slow
def test_stitching_scored_against_ground_truth() -> None:
    export = generator.generate(generator.GeneratorConfig(users=800, days=6, seed=11))
    ident = IdentitySettings()
    with DuckDBBackend(":memory:") as duck:
        generator.write_export(export, duck)
        stage(duck, StagingSettings())
        build_identity(duck, ident, full_refresh=True)
        rows = duck.query(_TRUTH_SQL).to_pylist()
        staged = duck.query(
            "SELECT event_key, event_ts, cid, uid, session_key FROM stg_events"
        ).to_pylist()
        assert len(rows) > 0.9 * duck.scalar(
            "SELECT COUNT(*) FROM stitched_events WHERE cid IS NOT NULL"
        )

    sql_uid = {r["event_key"]: r["stitched_uid"] for r in rows}
    ref_uid = {k: v[0] for k, v in stitch(staged, ident).stitched.items()}
    precision, recall = _score(rows, sql_uid)
    _, best_recall = _score(rows, ref_uid)
    assert precision >= 0.995, f"precision {precision:.4f}"
    assert recall == pytest.approx(best_recall, abs=1e-12), (recall, best_recall)
    assert recall > 0.5  # sanity: most logged-in people's events are found
