"""Audience specs: a population of identified people narrowed by a condition tree.

```yaml
kind: audience
name: ev9_interest
condition:
  any:
    - events: {event: page_view, where: [{param: page_path, prefix: /models/ev9}],
               count: {gte: 3}, window: {last: 14d}}
    - events: {event: tab_click, where: [{param: tab_name, in: [exterior, driving, accessory]}]}
holdout_percent: 10
```

Leaves: `events` (how many matching events in a window), `last_event` (recency of the latest
matching event), `crm` (a `profiles` attribute), `user_property` (the person's latest non-null
value of a GA4 user-property column). Nodes: `all`, `any`, `not`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cdp.segments.durations import Duration, Window
from cdp.segments.filters import EventFilter, ParamFilter
from cdp.segments.population import Population
from cdp.specs import StrictModel

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(
            "must be lowercase letters, digits and underscores, starting with a letter"
        )
    return value


class CountRange(StrictModel):
    """How many events: `{gte: 3}`, `{lte: 2}`, `{eq: 0}` or `{between: [2, 5]}` (inclusive)."""

    gte: int | None = Field(default=None, ge=0)
    lte: int | None = Field(default=None, ge=0)
    eq: int | None = Field(default=None, ge=0)
    between: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _check(self) -> CountRange:
        given = [k for k in ("gte", "lte", "eq", "between") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of: gte, lte, eq, between")
        if self.between is not None and not 0 <= self.between[0] <= self.between[1]:
            raise ValueError(f"between needs 0 <= low <= high (got {list(self.between)})")
        return self

    def bounds(self) -> tuple[int, int | None]:
        """Inclusive [low, high]; high None means unbounded."""
        if self.gte is not None:
            return self.gte, None
        if self.lte is not None:
            return 0, self.lte
        if self.eq is not None:
            return self.eq, self.eq
        assert self.between is not None
        return self.between


class EventCount(EventFilter):
    """At least/at most N matching events within a window (default: all history up to as_of)."""

    count: CountRange = Field(default_factory=lambda: CountRange(gte=1))
    window: Window | None = None
    label: str | None = None


class Recency(EventFilter):
    """The latest matching event is `within` X of as_of and/or `older_than` Y (lapsed)."""

    within: Duration | None = None
    older_than: Duration | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _some(self) -> Recency:
        if self.within is None and self.older_than is None:
            raise ValueError("give within, older_than or both")
        if self.within and self.older_than and self.older_than.micros >= self.within.micros:
            raise ValueError("older_than must be shorter than within")
        return self


class Condition(StrictModel):
    """Exactly one of the node or leaf keys."""

    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    events: EventCount | None = None
    last_event: Recency | None = None
    crm: ParamFilter | None = None
    user_property: ParamFilter | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        if len(self._given()) != 1:
            raise ValueError(
                "give exactly one of: all, any, not, events, last_event, crm, user_property"
            )
        return self

    def _given(self) -> list[str]:
        # Not model_fields_set: `events:` with nothing under it (or `not: null`) sets a key to None.
        return [name for name in type(self).model_fields if getattr(self, name) is not None]

    @property
    def kind(self) -> str:
        return self._given()[0].rstrip("_")

    def children(self) -> list[Condition]:
        if self.all_ is not None:
            return self.all_
        if self.any_ is not None:
            return self.any_
        return [self.not_] if self.not_ is not None else []

    def walk(self, path: str = "condition") -> Iterator[tuple[str, Condition]]:
        """Every node, depth-first, with its field path (for error messages and compilers)."""
        yield path, self
        key = {"all_": "all", "any_": "any", "not_": "not"}
        for field in ("all_", "any_"):
            for i, child in enumerate(getattr(self, field) or []):
                yield from child.walk(f"{path}.{key[field]}.{i}")
        if self.not_ is not None:
            yield from self.not_.walk(f"{path}.not")


class AudienceSpec(StrictModel):
    kind: Literal["audience"] = "audience"
    name: str
    description: str = ""
    population: Population = Field(default_factory=Population)
    condition: Condition
    holdout_percent: float = Field(default=0, ge=0, le=50)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


Condition.model_rebuild()
