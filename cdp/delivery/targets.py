"""What each destination name delivers to, so that a change the state cannot follow is refused.

`delivery_state` is keyed by destination name and by keys built from the destination's key
fields. Pointing a name at another data extension, campaign or journey event, or changing its
key fields, would leave that state describing rows elsewhere (removals sent to the wrong place,
stored keys decoded with the wrong fields); renaming a destination would start it with no state
(every live journey firing entering again). Both are refused with a ConfigError naming the
change: a new target takes a new name, and a renamed destination keeps its old one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cdp.backends.base import Backend
from cdp.delivery import tables as t
from cdp.delivery.config import CampaignDestination, DataExtensionDestination, Destination
from cdp.errors import ConfigError


@dataclass(frozen=True)
class Target:
    type: str
    target: str
    key_fields: tuple[str, ...]

    def describe(self) -> str:
        keys = f" keyed by {', '.join(self.key_fields)}" if self.key_fields else ""
        return f"{self.type} {self.target}{keys}"


def target_of(dest: Destination) -> Target:
    if isinstance(dest, DataExtensionDestination):
        return Target(dest.type, dest.de_key, tuple(dest.primary_key))
    if isinstance(dest, CampaignDestination):
        return Target(dest.type, dest.campaign_id, (dest.external_id_field,))
    return Target(dest.type, dest.event_definition_key, ())


def _stored(backend: Backend) -> dict[str, Target]:
    rows = backend.query(f"SELECT destination, type, target, key_fields FROM {t.TARGETS}")
    return {
        r["destination"]: Target(r["type"], r["target"], tuple(json.loads(r["key_fields"])))
        for r in rows.to_pylist()
    }


def check_targets(
    backend: Backend, configured: Sequence[Destination], targets: Sequence[Destination]
) -> list[tuple[str, Target]]:
    """Refuse a destination of `targets` whose target changed, or that looks like a renamed one
    (a former name, no longer `configured`, delivered to the same target). Returns the ones
    seen for the first time, for `record_targets` once their delivery starts."""
    stored = _stored(backend)
    names = {d.name for d in configured}
    new = []
    for dest in targets:
        current, before = target_of(dest), stored.get(dest.name)
        if before is not None and before != current:
            raise ConfigError(
                f"now delivers to {current.describe()}, but its rows were sent to "
                f"{before.describe()}: give the new target a new destination name (the rows "
                "already sent stay where they are)",
                field=f"destinations.{dest.name}",
            )
        if before is None:
            former = [n for n, s in stored.items() if s == current and n not in names]
            if former:
                raise ConfigError(
                    f"delivers to {current.describe()} like the former destination "
                    f"{former[0]!r}, whose state a new name would not see (its rows or firings "
                    f"would be sent again): keep the name {former[0]!r}",
                    field=f"destinations.{dest.name}",
                )
            new.append((dest.name, current))
    return new


def record_targets(backend: Backend, new: Sequence[tuple[str, Target]], now: datetime) -> None:
    if not new:
        return
    params: dict[str, object] = {"now": now}
    statements = []
    for i, (name, target) in enumerate(new):
        params |= {f"name_{i}": name, f"type_{i}": target.type, f"target_{i}": target.target,
                   f"keys_{i}": json.dumps(list(target.key_fields))}  # fmt: skip
        statements.append(
            f"INSERT INTO {t.TARGETS} (destination, type, target, key_fields, recorded_at) "
            f"SELECT @name_{i}, @type_{i}, @target_{i}, @keys_{i}, @now"
        )
    backend.atomic(statements, params)
