"""Loading YAML into pydantic models, with errors that name the file and the field."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo

from cdp.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name like Asia/Seoul)"
        ) from err


def _check_zone(name: str) -> str:
    zone(name)
    return name


#: An IANA time zone name, checked when a spec or config is validated.
TimeZoneName = Annotated[str, AfterValidator(_check_zone)]


def with_project_zone(value: Any, info: ValidationInfo) -> Any:
    """A mapping without its own `time_zone` takes the project's, which loaders pass as the
    validation context (`{"time_zone": ...}`): a project's days and clocks are its local ones."""
    project_zone = (info.context or {}).get("time_zone")
    if project_zone and isinstance(value, dict) and "time_zone" not in value:
        return {**value, "time_zone": project_zone}
    return value


class StrictModel(BaseModel):
    """Base for every config/spec model: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.safe_load`, except that a key given twice in one mapping is an error, not last-wins."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        lines: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` may be overridden, that is its point
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports it
            if key in lines:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r} (first on line {lines[key]})",
                    problem_mark=key_node.start_mark,
                )
            lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError as err:
        raise ConfigError("file not found", path=path) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise ConfigError(
            f"not valid YAML: {getattr(err, 'problem', err)}", path=path, field=where
        ) from err


def validate(
    model: type[M],
    data: Any,
    *,
    path: Path | str | None = None,
    context: dict[str, Any] | None = None,
) -> M:
    """Validate `data` against `model`; the first problem becomes one clear ConfigError line."""
    try:
        return model.model_validate(data if data is not None else {}, context=context)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        elif (
            "input" in first
            and first["type"] not in ("missing",)
            and not isinstance(first["input"], dict | list)
        ):
            message = f"{message} (got {first['input']!r})"
        more = f" [+{err.error_count() - 1} more]" if err.error_count() > 1 else ""
        raise ConfigError(message + more, path=path, field=field) from err


def load_yaml_model(model: type[M], path: Path) -> M:
    return validate(model, read_yaml(path), path=path)
