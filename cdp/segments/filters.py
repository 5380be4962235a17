"""Event filters: "event X whose param P matches V", compiled to sqlglot conditions.

Used by audience conditions, trigger start/completion events and funnel steps. Filters apply
to columns of `stg_events` / `stitched_events`: the built-in flattened columns (`page_path`,
`page_location`, `page_title`, `device_category`, ...) and every configured extra param column.
Values become sqlglot literals, so nothing a user writes is ever formatted into SQL text.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from cdp.regex import compile_re2
from cdp.specs import StrictModel

BUILTIN_COLUMNS: dict[str, str] = {
    "event_name": "string",
    "page_location": "string",
    "page_path": "string",
    "page_title": "string",
    "page_referrer": "string",
    "device_category": "string",
    "country": "string",
    "city": "string",
    "platform": "string",
    "traffic_source": "string",
    "traffic_medium": "string",
    "traffic_campaign": "string",
    "engagement_time_msec": "int",
    "ga_session_number": "int",
    "ga_session_id": "int",
    "cid": "string",
    "uid": "string",
    "stitched_uid": "string",
    "session_key": "string",
    "analytics_storage": "string",
    "ads_storage": "string",
    "attribution": "string",
    "shard_date": "string",
}

ColumnType = Literal["string", "int", "double", "bool"]

Operator = Literal[
    "equals", "not_equals", "in", "contains", "prefix", "regex", "gt", "gte", "lt", "lte"
]
_NUMERIC_OPS = {"gt", "gte", "lt", "lte"}


class ParamFilter(StrictModel):
    """One condition on one column: `{param: page_path, prefix: /models/ev9}`."""

    param: str
    #: Optional: the type the author expects the column to have (checked against the known columns).
    type: ColumnType | None = None
    # bool first: YAML's `true` stays a boolean (BigQuery has no BOOL = 1.0 coercion); int
    # before float: an INT64 id past 2**53 stays exact.
    equals: bool | int | float | str | None = None
    not_equals: bool | int | float | str | None = None
    in_: list[bool | int | float | str] | None = Field(default=None, alias="in", min_length=1)
    contains: str | None = None
    prefix: str | None = None
    regex: str | None = None
    gt: int | float | None = None
    gte: int | float | None = None
    lt: int | float | None = None
    lte: int | float | None = None

    @field_validator("param")
    @classmethod
    def _param_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("must be a column name (letters, digits, underscores)")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            compile_re2(value)  # ValueError: "not a valid RE2 regular expression: ..."
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> ParamFilter:
        if len(self.operators()) != 1:
            raise ValueError("give exactly one operator: " + ", ".join(Operator.__args__))  # type: ignore[attr-defined]
        return self

    def operators(self) -> dict[str, object]:
        names = (
            "equals",
            "not_equals",
            "in_",
            "contains",
            "prefix",
            "regex",
            "gt",
            "gte",
            "lt",
            "lte",
        )
        return {n.rstrip("_"): getattr(self, n) for n in names if getattr(self, n) is not None}

    def condition(self, column: exp.Expr | None = None) -> exp.Expr:
        """The condition on `column` (default: the bare column named by `param`)."""
        [(op, value)] = self.operators().items()
        column = column.copy() if column is not None else exp.column(self.param)
        if op == "equals":
            return exp.EQ(this=column, expression=_literal(value))
        if op == "not_equals":
            return exp.NEQ(this=column, expression=_literal(value))
        if op == "in":
            assert isinstance(value, list)
            return exp.In(this=column, expressions=[_literal(v) for v in value])
        if op == "contains":
            return exp.GT(
                this=exp.StrPosition(this=column, substr=_literal(value)),
                expression=exp.Literal.number(0),
            )
        if op == "prefix":
            return exp.StartsWith(this=column, expression=_literal(value))
        if op == "regex":
            return exp.RegexpLike(this=column, expression=_literal(value))
        comparison = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
        return comparison(this=column, expression=_literal(value))


class EventFilter(StrictModel):
    """Events with one of `event` names whose params all match `where`."""

    event: list[str] = Field(min_length=1)
    where: list[ParamFilter] = Field(default_factory=list)

    @field_validator("event", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def condition(self) -> exp.Expr:
        names = [exp.Literal.string(n) for n in self.event]
        parts: list[exp.Expr] = [
            exp.EQ(this=exp.column("event_name"), expression=names[0])
            if len(names) == 1
            else exp.In(this=exp.column("event_name"), expressions=names)
        ]
        parts += [f.condition() for f in self.where]
        return exp.and_(*parts)

    def columns(self) -> set[str]:
        return {"event_name", *(f.param for f in self.where)}


def _literal(value: object) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))
