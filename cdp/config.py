"""Project settings: one YAML file (default `cdp.yaml`), every section optional.

With no file at all the product runs on the embedded default: DuckDB in `.cdp/cdp.duckdb` over
the export schema `ga4`, delivering to the local Salesforce emulator. Secrets never live here:
they come from the environment or Prefect Secret blocks (see `cdp.salesforce.settings`).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cdp.backends.base import Backend
from cdp.ga4.schema import STAGED_HEAD, STAGED_TAIL
from cdp.regex import compile_re2
from cdp.salesforce.settings import SalesforceSettings
from cdp.specs import StrictModel, TimeZoneName, load_yaml_model

DEFAULT_CONFIG = Path("cdp.yaml")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class DuckDBSettings(StrictModel):
    path: str = ".cdp/cdp.duckdb"
    export_schema: str = "ga4"
    threads: int | None = None
    memory_limit: str | None = Field(
        default=None,
        description="DuckDB buffer pool cap, e.g. '2GB' (DuckDB's default: 80% of RAM)",
    )


class BigQuerySettings(StrictModel):
    project: str
    export_dataset: str = Field(description="the GA4 export dataset, analytics_<property_id>")
    product_dataset: str = "cdp"
    location: str = "US"
    maximum_bytes_billed: int = Field(default=200 * 1024**3, gt=0)

    @field_validator("export_dataset", "product_dataset")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError("must be a dataset name (letters, digits, underscores)")
        return value


class ParamColumn(StrictModel):
    """An extra event param (or user property) flattened into its own `stg_events` column."""

    key: str
    type: Literal["string", "int", "double"] = "string"
    column: str | None = None

    @field_validator("column")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        if value is not None and not _IDENT.match(value):
            raise ValueError("must be a column name (letters, digits, underscores)")
        return value

    @property
    def column_name(self) -> str:
        return self.column or re.sub(r"[^A-Za-z0-9_]", "_", self.key).lower()


_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a param column may not be called: staging's own columns, and `url`, a helper of its query.
_RESERVED_COLUMNS = frozenset({*STAGED_HEAD, *STAGED_TAIL, "url"})


class StagingSettings(StrictModel):
    lookback_days: int = Field(default=3, ge=0, le=60)
    #: the oldest export date ever read: a property with years of history starts here, and no
    #: run (scheduled or `--start`) reads older shards; dates already staged stay until a full
    #: refresh
    first_date: date | None = None
    extra_params: list[ParamColumn] = Field(default_factory=list)
    user_properties: list[ParamColumn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_columns(self) -> StagingSettings:
        # Two params on one column (keys `차종` and `모델` both derive `__`), or one on a built-in
        # column, would be renamed or rejected by the engine instead of staged.
        seen: dict[str, str] = {}
        for column in [*self.extra_params, *self.user_properties]:
            name = column.column_name
            if not _COLUMN_NAME.match(name):
                raise ValueError(
                    f"param {column.key!r}: column {name!r} is not a valid name; set `column`"
                )
            if name.lower() in _RESERVED_COLUMNS:
                raise ValueError(
                    f"param {column.key!r}: column {name!r} is a built-in column; set `column`"
                )
            if name.lower() in seen:
                raise ValueError(
                    f"params {seen[name.lower()]!r} and {column.key!r} both stage into column {name!r}; set `column`"
                )
            seen[name.lower()] = column.key
        return self


class IdentitySettings(StrictModel):
    max_users_per_device: int = Field(default=3, ge=1)
    max_devices_per_user: int = Field(default=20, ge=1)
    attribute_shared_devices: bool = False
    include_consent_denied: bool = False
    junk_uids: list[str] = Field(
        default_factory=lambda: [
            "",
            "null",
            "none",
            "undefined",
            "0",
            "-1",
            "anonymous",
            "guest",
            "nan",
        ]
    )
    junk_patterns: list[str] = Field(default_factory=lambda: [r"^\s*$", r"^0+$", r"^(test|dummy)"])
    #: Whether a suspicious UID keeps its own logged-in events (anonymous ones are never stitched to it).
    keep_suspicious_logins: bool = True

    @field_validator("junk_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            compile_re2(pattern)  # the warehouses' engine
        return value


# Columns crm_customers and profiles have of their own: an attribute of the same name would
# shadow them (an `opted_out` attribute lost the any-record opt-out rule).
_PROFILE_COLUMNS = frozenset({
    "record_id", "record_type", "uid", "email", "opted_out", "customer_type", "system_modstamp",
    "crm_record_id", "device_count", "first_seen", "last_seen", "events", "sessions",
    "is_suspicious", "crm_matched", "crm_records",
})  # fmt: skip


class CrmSettings(StrictModel):
    """Where `crm_customers` comes from: a warehouse table, a CSV/Parquet file, or Salesforce."""

    #: none: no CRM (profiles match nobody); unset: `file` or `table`, whichever is given
    source: Literal["table", "file", "salesforce", "none"] = "none"
    table: str | None = None
    file: str | None = None
    record_id: str = "record_id"
    uid: str = "uid"
    email: str = "email"
    opted_out: str = "opted_out"
    customer_type: str = "customer_type"
    #: Optional source columns; absent ones load as NULL.
    record_type: str | None = None
    system_modstamp: str | None = None
    attributes: list[str] = Field(default_factory=list)
    #: An attribute's type in `profiles` and in spec filters (others are strings): the values
    #: are cast to it, so a spec checked against the type runs the same on either warehouse.
    attribute_types: dict[str, Literal["string", "int", "double", "bool"]] = Field(
        default_factory=dict
    )

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, value: list[str]) -> list[str]:
        # Attributes become profile columns, so they must be plain column names.
        for name in value:
            if not _IDENT.match(name) or "-" in name:
                raise ValueError(
                    f"attribute {name!r} must be a column name (letters, digits, underscores)"
                )
            if name.lower() in _PROFILE_COLUMNS:
                raise ValueError(
                    f"attribute {name!r} is a crm_customers or profiles column of its own; "
                    "map that field instead (crm.email, crm.opted_out, ...)"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _implied_source(cls, value: Any) -> Any:
        if isinstance(value, dict) and "source" not in value:
            implied = "file" if value.get("file") else "table" if value.get("table") else None
            return {**value, "source": implied} if implied else value
        return value

    @model_validator(mode="after")
    def _source_named(self) -> CrmSettings:
        # Checked when the config loads, not when identity has already been built.
        if self.source in ("file", "table") and not getattr(self, self.source):
            raise ValueError(f"crm.source is {self.source} but crm.{self.source} is not set")
        return self

    @model_validator(mode="after")
    def _typed_attributes_exist(self) -> CrmSettings:
        unknown = sorted(set(self.attribute_types) - set(self.attributes))
        if unknown:
            raise ValueError(f"attribute_types names {unknown}, which are not in attributes")
        return self

    def attribute_type(self, name: str) -> str:
        return self.attribute_types.get(name, "string")


class Settings(StrictModel):
    backend: Literal["duckdb", "bigquery"] = "duckdb"
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings)
    bigquery: BigQuerySettings | None = None
    staging: StagingSettings = Field(default_factory=StagingSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    specs_dir: str = "specs"
    time_zone: TimeZoneName = "Asia/Seoul"


def load_settings(path: Path | str | None = None) -> Settings:
    """Settings from `path`, else $CDP_CONFIG, else ./cdp.yaml if present, else defaults."""
    chosen = (
        Path(path)
        if path
        else Path(os.environ["CDP_CONFIG"])
        if os.environ.get("CDP_CONFIG")
        else None
    )
    if chosen is None and DEFAULT_CONFIG.exists():
        chosen = DEFAULT_CONFIG
    settings = load_yaml_model(Settings, chosen) if chosen else Settings()
    if chosen is not None:
        settings = _relative_to(settings, chosen.parent.resolve())
    if settings.backend == "bigquery" and settings.bigquery is None:
        from cdp.errors import ConfigError

        raise ConfigError(
            "backend is bigquery but no bigquery section is set", path=chosen, field="bigquery"
        )
    return settings


def _relative_to(settings: Settings, base: Path) -> Settings:
    """Relative paths written in the config (DuckDB file, CRM file, specs, CA bundle) resolved
    against its own directory, not the working directory: `cdp stage -c proj/cdp.yaml` from
    elsewhere, or a deployment's worker, reads the same files. Defaults stay relative to the
    working directory (the local emulator writes its CA there)."""

    def resolved(model: StrictModel, name: str) -> dict[str, Any]:
        value = getattr(model, name)
        if name not in model.model_fields_set or value is None or value == ":memory:":
            return {}
        return {} if Path(value).is_absolute() else {name: str(base / value)}

    sf = settings.salesforce
    return settings.model_copy(
        update={
            "duckdb": settings.duckdb.model_copy(update=resolved(settings.duckdb, "path")),
            "crm": settings.crm.model_copy(update=resolved(settings.crm, "file")),
            "salesforce": sf.model_copy(update=resolved(sf, "ca_bundle")),
            **resolved(settings, "specs_dir"),
        }
    )


def open_backend(settings: Settings) -> Backend:
    if settings.backend == "bigquery":
        from cdp.backends.bigquery import BigQueryBackend

        assert settings.bigquery is not None
        return BigQueryBackend.from_settings(settings.bigquery)
    from cdp.backends.duckdb import DuckDBBackend

    duck = settings.duckdb
    return DuckDBBackend(duck.path, duck.export_schema, duck.threads, duck.memory_limit)
