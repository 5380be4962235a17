"""Loading every spec under a directory: one YAML file per spec, or a list of specs per file.

`kind` picks the model (audience | trigger | funnel | trigger_settings). After pydantic has
validated a spec's shape, the columns it names are checked against the known `stitched_events`
columns (built-ins + configured extra params / user properties) and `profiles` columns; every
problem is one ConfigError line naming the file, the field and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cdp.audiences.spec import AudienceSpec
from cdp.errors import ConfigError
from cdp.funnels.spec import FunnelSpec
from cdp.segments.columns import (
    as_known,
    event_columns,
    event_filter_problems,
    filter_problem,
    profile_columns,
)
from cdp.segments.population import Population
from cdp.specs import read_yaml, validate
from cdp.triggers.spec import TriggerSettings, TriggerSpec

if TYPE_CHECKING:
    from cdp.config import Settings

KINDS: dict[str, type[BaseModel]] = {
    "audience": AudienceSpec,
    "trigger": TriggerSpec,
    "funnel": FunnelSpec,
    "trigger_settings": TriggerSettings,
}


@dataclass
class Specs:
    audiences: list[AudienceSpec] = field(default_factory=list)
    triggers: list[TriggerSpec] = field(default_factory=list)
    funnels: list[FunnelSpec] = field(default_factory=list)
    trigger_settings: TriggerSettings | None = None
    sources: dict[str, Path] = field(default_factory=dict)

    def audience(self, name: str) -> AudienceSpec:
        return _named(self.audiences, name, "audience")

    def trigger(self, name: str) -> TriggerSpec:
        return _named(self.triggers, name, "trigger")

    def funnel(self, name: str) -> FunnelSpec:
        return _named(self.funnels, name, "funnel")


def _named(items: Iterable[Any], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise ConfigError(f"no {kind} named {name!r}")


def load_specs(
    directory: Path | str,
    known_columns: Mapping[str, str] | Iterable[str] | None = None,
    crm_attributes: Mapping[str, str] | Iterable[str] | None = None,
    time_zone: str | None = None,
) -> Specs:
    """Every `*.yaml`/`*.yml` under `directory`, validated (extra columns: name->type or names).

    `time_zone` is the project's: date ranges, quiet hours and the daily cap's days that do not
    name their own zone take it (else UTC for date ranges, Asia/Seoul for the others).
    """
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError("specs directory not found", path=root)
    events = event_columns(extra=as_known(known_columns))
    profiles = profile_columns(extra=as_known(crm_attributes))
    specs = Specs()
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        data = read_yaml(path)
        if isinstance(data, dict) and "kind" not in data and "name" not in data:
            continue  # not a spec file (e.g. destinations.yaml shares the directory)
        documents = data if isinstance(data, list) else [data]
        for i, document in enumerate(documents):
            prefix = f"{i}." if isinstance(data, list) else ""
            spec = load_spec(
                document,
                path=path,
                prefix=prefix,
                events=events,
                profiles=profiles,
                time_zone=time_zone,
            )
            _add(specs, spec, path, prefix)
    if specs.trigger_settings is None and time_zone:
        specs.trigger_settings = TriggerSettings.model_validate(
            {}, context={"time_zone": time_zone}
        )
    _check_expiries(specs)
    return specs


def load_spec(
    document: Any,
    *,
    path: Path | str | None = None,
    prefix: str = "",
    events: Mapping[str, str] | None = None,
    profiles: Mapping[str, str] | None = None,
    time_zone: str | None = None,
) -> BaseModel:
    """One spec document (a mapping with `kind`) validated, columns included."""
    if not isinstance(document, dict):
        raise ConfigError(
            "expected a mapping with a `kind` field", path=path, field=prefix.rstrip(".") or None
        )
    kind = document.get("kind")
    if kind not in KINDS:
        raise ConfigError(
            f"expected kind to be one of {', '.join(KINDS)} (got {kind!r})",
            path=path,
            field=f"{prefix}kind",
        )
    try:
        spec = validate(KINDS[kind], document, path=path, context={"time_zone": time_zone})
    except ConfigError as err:
        if prefix and err.field:
            raise ConfigError(
                str(err).split(": ", 2 if err.path else 1)[-1], path=path, field=prefix + err.field
            ) from err
        raise
    for field_path, problem in column_problems(
        spec, events or event_columns(), profiles or profile_columns()
    ):
        raise ConfigError(problem, path=path, field=prefix + field_path)
    return spec


def column_problems(
    spec: BaseModel, events: Mapping[str, str], profiles: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    """(field path, problem) for every column a spec names that the data does not have."""
    if isinstance(spec, AudienceSpec):
        yield from _population_problems(spec.population, profiles, "population")
        for where, node in spec.condition.walk():
            if node.events is not None:
                yield from event_filter_problems(node.events, events, f"{where}.events")
            if node.last_event is not None:
                yield from event_filter_problems(node.last_event, events, f"{where}.last_event")
            for key, leaf, known in (
                ("crm", node.crm, profiles),
                ("user_property", node.user_property, events),
            ):
                problem = filter_problem(leaf, known) if leaf is not None else None
                if problem:
                    yield f"{where}.{key}.param", problem
    elif isinstance(spec, TriggerSpec):
        yield from _population_problems(spec.population, profiles, "population")
        yield from event_filter_problems(spec.start, events, "start")
        for i, completion in enumerate(spec.completion):
            yield from event_filter_problems(completion, events, f"completion.{i}")
        for i, column in enumerate(spec.context):
            if column not in events:
                yield (
                    f"context.{i}",
                    f"unknown column {column!r}; expected one of: {', '.join(sorted(events))}",
                )
    elif isinstance(spec, FunnelSpec):
        for i, step in enumerate(spec.steps):
            yield from event_filter_problems(step, events, f"steps.{i}")
        for i, column in enumerate(spec.breakdown):
            if column not in events:
                yield (
                    f"breakdown.{i}",
                    f"unknown column {column!r}; expected one of: {', '.join(sorted(events))}",
                )
        if spec.dropoff is not None:
            yield from _population_problems(spec.dropoff.population, profiles, "dropoff.population")


def _population_problems(
    population: Population, profiles: Mapping[str, str], where: str
) -> Iterator[tuple[str, str]]:
    for i, flt in enumerate(population.crm):
        problem = filter_problem(flt, profiles)
        if problem:
            yield f"{where}.crm.{i}.param", problem


def _add(specs: Specs, spec: BaseModel, path: Path, prefix: str) -> None:
    if isinstance(spec, TriggerSettings):
        if specs.trigger_settings is not None:
            raise ConfigError(
                "a second trigger_settings spec; expected at most one",
                path=path,
                field=prefix + "kind",
            )
        specs.trigger_settings = spec
        return
    assert isinstance(spec, AudienceSpec | TriggerSpec | FunnelSpec)
    key = f"{spec.kind}:{spec.name}"
    if key in specs.sources:
        raise ConfigError(
            f"{spec.kind} {spec.name!r} is already defined in {specs.sources[key]}",
            path=path,
            field=prefix + "name",
        )
    names = {f"audience:{f.dropoff_audience(s.name)}" for f in specs.funnels for s in f.steps}
    if key in names or (
        isinstance(spec, FunnelSpec)
        and any(f"audience:{spec.dropoff_audience(s.name)}" in specs.sources for s in spec.steps)
    ):
        raise ConfigError(
            f"name {spec.name!r} collides with a funnel drop-off audience",
            path=path,
            field=prefix + "name",
        )
    specs.sources[key] = path
    if isinstance(spec, AudienceSpec):
        specs.audiences.append(spec)
    elif isinstance(spec, TriggerSpec):
        specs.triggers.append(spec)
    else:
        specs.funnels.append(spec)


def _check_expiries(specs: Specs) -> None:
    """A start is decided once the data is complete to start + wait, which is safety_lag after it
    at the earliest: an expiry no longer than that has always passed, so the trigger never fires."""
    lag = (specs.trigger_settings or TriggerSettings()).safety_lag
    for spec in specs.triggers:
        if spec.expiry is not None and spec.expiry.micros <= spec.wait.micros + lag.micros:
            raise ConfigError(
                f"expiry ({spec.expiry}) must be longer than wait ({spec.wait}) + trigger_settings "
                f"safety_lag ({lag}), or every start has expired by the time it is decided",
                path=specs.sources[f"trigger:{spec.name}"],
                field="expiry",
            )


def load_project_specs(settings: Settings) -> Specs:
    """The specs in `settings.specs_dir`, checked against this project's columns and time zone."""
    return load_specs(
        Path(settings.specs_dir),
        event_columns(settings.staging),
        profile_columns(settings.crm),
        time_zone=settings.time_zone,
    )
