"""`build_profiles`: one row per UID, joined to `crm_customers`.

Universe: every UID that has attributed events or was ever seen logged in on a device (so a
suspicious UID whose logins were withheld still has a row, flagged). When a UID has several CRM
records (a Contact and a Lead, duplicates) the Contact wins, then the most recently modified,
then the lowest record id; `opted_out` is TRUE if ANY of its records opted out, because
suppressing a delivery wrongly is cheaper than mailing someone who said no. Unmatched UIDs stay
in the table (`crm_matched` FALSE) and are reported with a count and a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from cdp.backends.base import Backend
from cdp.config import CrmSettings
from cdp.identity import tables as t

_SAMPLE = 10
# What an absent crm_customers table looks like: no rows, the right columns.
_NO_CRM = (
    "(SELECT CAST(NULL AS STRING) AS record_id, CAST(NULL AS STRING) AS record_type, "
    "CAST(NULL AS STRING) AS uid, CAST(NULL AS STRING) AS email, CAST(NULL AS BOOL) AS opted_out, "
    "CAST(NULL AS STRING) AS customer_type, CAST(NULL AS TIMESTAMP) AS system_modstamp{attrs} "
    "FROM (SELECT 1) AS one WHERE FALSE)"
)


@dataclass
class ProfilesReport:
    profiles: int = 0
    matched: int = 0
    unmatched: int = 0
    unmatched_sample: list[str] = field(default_factory=list)
    crm_records: int = 0
    crm_table_missing: bool = False

    @property
    def match_rate(self) -> float | None:
        return self.matched / self.profiles if self.profiles else None

    def describe(self) -> str:
        """One line: profiles, CRM matches, and the unmatched UIDs (count and a sample)."""
        line = f"{self.profiles:,} profiles, {self.matched:,} matched to CRM"
        if self.unmatched:
            sample = describe_sample(self.unmatched_sample, self.unmatched)
            line += f", {self.unmatched:,} unmatched ({sample})"
        return line


def describe_sample(sample: list[str], total: int) -> str:
    """`sample` of `total` values as one phrase: "a, b and 8 more"."""
    more = total - len(sample)
    return ", ".join(sample) + (f" and {more:,} more" if more > 0 else "")


_SQL_TYPES = {"string": "STRING", "int": "INT64", "double": "FLOAT64", "bool": "BOOL"}


def profiles_sql(
    attributes: list[str],
    crm_source: str = t.CRM,
    present: set[str] | None = None,
    types: dict[str, str] | None = None,
) -> str:
    """The CTAS. `present`: attribute columns crm_customers has (others become NULL); `types`:
    their spec types (default string), cast to, whatever type the CRM source loaded."""
    present = set(attributes) if present is None else present
    quoted = {a: exp.to_identifier(a, quoted=True).sql("bigquery") for a in attributes}
    sql_type = {a: _SQL_TYPES[(types or {}).get(a, "string")] for a in attributes}
    crm_attrs = "".join(
        f", SAFE_CAST({quoted[a]} AS {sql_type[a]}) AS {quoted[a]}"
        if a in present
        else f", CAST(NULL AS {sql_type[a]}) AS {quoted[a]}"
        for a in attributes
    )
    out_attrs = "".join(f", c.{quoted[a]}" for a in attributes)
    return f"""
CREATE OR REPLACE TABLE {t.PROFILES} AS
WITH activity AS (
  SELECT
    stitched_uid AS uid,
    MIN(event_ts) AS first_seen,
    MAX(event_ts) AS last_seen,
    COUNT(*) AS events,
    COUNT(DISTINCT session_key) AS sessions
  FROM {t.STITCHED}
  WHERE stitched_uid IS NOT NULL
  GROUP BY stitched_uid
),
people AS (
  SELECT
    COALESCE(a.uid, f.uid) AS uid,
    COALESCE(a.first_seen, f.first_seen) AS first_seen,
    COALESCE(a.last_seen, f.last_seen) AS last_seen,
    COALESCE(a.events, 0) AS events,
    COALESCE(a.sessions, 0) AS sessions,
    COALESCE(f.n_cids, 0) AS device_count,
    COALESCE(f.is_suspicious, FALSE) AS is_suspicious
  FROM activity AS a
  FULL OUTER JOIN {t.FLAGS} AS f ON f.uid = a.uid
),
crm AS (
  SELECT
    uid, record_id, record_type, email, customer_type{crm_attrs},
    LOGICAL_OR(COALESCE(opted_out, FALSE)) OVER (PARTITION BY uid) AS opted_out,
    COUNT(*) OVER (PARTITION BY uid) AS crm_records
  FROM {crm_source} AS src
  WHERE uid IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY uid
    ORDER BY IF(record_type = 'Contact', 0, 1), system_modstamp DESC NULLS LAST, record_id
  ) = 1
)
SELECT
  p.uid,
  c.record_id AS crm_record_id,
  c.record_type,
  c.email,
  c.opted_out,
  c.customer_type{out_attrs},
  p.device_count,
  p.first_seen,
  p.last_seen,
  p.events,
  p.sessions,
  p.is_suspicious,
  c.record_id IS NOT NULL AS crm_matched,
  COALESCE(c.crm_records, 0) AS crm_records
FROM people AS p
LEFT JOIN crm AS c ON c.uid = p.uid
"""


def build_profiles(backend: Backend, crm: CrmSettings | None = None) -> ProfilesReport:
    """Rebuild `profiles` from the identity tables and `crm_customers` (if it exists)."""
    attributes = list(crm.attributes) if crm else []
    types = {a: crm.attribute_type(a) for a in attributes} if crm else {}
    report = ProfilesReport()
    # With `crm.source: none`, a crm_customers left from another source is not this CRM.
    if backend.table_exists(t.CRM) and (crm is None or crm.source != "none"):
        columns = set(backend.column_names(t.CRM))
        present = columns & set(attributes)
        backend.execute(profiles_sql(attributes, present=present, types=types))
        report.crm_records = int(backend.scalar(f"SELECT COUNT(*) FROM {t.CRM}") or 0)
    else:
        report.crm_table_missing = True
        attrs = "".join(f", CAST(NULL AS STRING) AS {exp.to_identifier(a, quoted=True).sql('bigquery')}"
                        for a in attributes)  # fmt: skip
        no_crm = _NO_CRM.format(attrs=attrs)
        backend.execute(profiles_sql(attributes, crm_source=no_crm, types=types))
    row = backend.query(
        f"SELECT COUNT(*) AS n, COUNTIF(crm_matched) AS matched FROM {t.PROFILES}"
    ).to_pylist()[0]
    report.profiles = int(row["n"] or 0)
    report.matched = int(row["matched"] or 0)
    report.unmatched = report.profiles - report.matched
    report.unmatched_sample = unmatched_sample(backend)
    return report


def unmatched_sample(backend: Backend, limit: int = _SAMPLE) -> list[str]:
    """Some UIDs no CRM record matched: people first, then suspicious UIDs (not people)."""
    rows = backend.query(
        f"SELECT uid FROM {t.PROFILES} WHERE NOT crm_matched ORDER BY is_suspicious, uid "
        f"LIMIT {int(limit)}"
    )
    return [str(u) for u in rows.column(0).to_pylist()]
