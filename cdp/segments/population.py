"""Who may be in an audience or fire a trigger: identified people, i.e. anyone with a login history.

The population is the `profiles` table (one row per UID the identity step has seen logged in),
optionally narrowed by CRM attributes. Salesforce opt-outs are left out unless a spec opts in.
"""

from __future__ import annotations

from pydantic import Field
from sqlglot import exp

from cdp.segments.filters import ParamFilter
from cdp.segments.sqlbits import coalesce, col, lit
from cdp.specs import StrictModel

PROFILES = "profiles"
EVENTS = "stitched_events"


class Population(StrictModel):
    crm: list[ParamFilter] = Field(default_factory=list)
    include_opted_out: bool = False
    include_consent_denied: bool = False
    require_crm_match: bool = False


def people_select(population: Population, extra_columns: list[str] | None = None) -> exp.Select:
    """`SELECT uid, crm_record_id, ... FROM profiles WHERE <population>`."""
    columns = [
        "uid",
        "crm_record_id",
        *(c for c in extra_columns or [] if c not in ("uid", "crm_record_id")),
    ]
    conditions: list[exp.Expr] = [exp.Not(this=exp.Is(this=col("uid"), expression=exp.Null()))]
    if not population.include_opted_out:
        conditions.append(exp.Not(this=coalesce(col("opted_out"), lit(False))))
    if population.require_crm_match:
        conditions.append(coalesce(col("crm_matched"), lit(False)))
    conditions += [f.condition() for f in population.crm]
    return (
        exp.select(*(col(c) for c in dict.fromkeys(columns)))
        .from_(PROFILES)
        .where(exp.and_(*conditions))
    )
