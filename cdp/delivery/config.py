"""Destination config (`destinations.yaml`): where audiences and triggers are delivered.

Mappings are written `<destination field>: <warehouse column>` (each destination field once);
`constants` set a destination field to a fixed value. Warehouse columns are those of the
source relation: `profiles` joined with `audience_members` (audience sources) or with
`trigger_firings` (trigger sources), plus `delivery_key` (the row's idempotency key).
Checks that need the warehouse or Salesforce (columns exist, fields exist) run in
`preflight`, before anything is sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from cdp.specs import StrictModel, load_yaml_model

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Constant = str | int | float | bool | None


def _identifiers(values: dict[str, str]) -> dict[str, str]:
    for target, column in values.items():
        if not _IDENT.match(column):
            raise ValueError(f"{target}: {column!r} is not a warehouse column name")
    return values


class Source(StrictModel):
    """Exactly one of: an audience, or the trigger(s) whose firings feed a journey."""

    audience: str | None = None
    triggers: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Source:
        if (self.audience is None) == (self.triggers is None):
            raise ValueError("set exactly one of audience or triggers")
        return self


class Batching(StrictModel):
    """Request sizes (Salesforce limits, facts §2-3); lower them to go gentler."""

    sync_max_rows: int = Field(default=50, ge=1, le=50)  # rowset: 50 rows per call
    async_max_rows: int = Field(default=32_000, ge=1, le=32_000)  # async DE: hard limit
    journey_batch: int = Field(default=100, ge=1, le=100)  # async events: 100 members
    collection_max: int = Field(default=200, ge=1, le=200)  # sObject Collections: 200 records


class _Base(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    source: Source


class EntryDataExtension(StrictModel):
    """A data extension row written (idempotently) before a journey event for the contact."""

    de_key: str
    primary_key: list[str] = Field(min_length=1)
    fields: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Constant] = Field(default_factory=dict)
    #: the DE's columns (SFMC's REST API has no describe); mappings are checked against them
    de_fields: list[str] | None = None

    @field_validator("fields")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return _identifiers(value)

    @model_validator(mode="after")
    def _keys_mapped(self) -> EntryDataExtension:
        missing = [k for k in self.primary_key if k not in self.fields and k not in self.constants]
        if missing:
            raise ValueError(f"primary key {missing[0]!r} is neither in fields nor constants")
        return self


class DataExtensionDestination(_Base, EntryDataExtension):
    type: Literal["mc_data_extension"]
    #: delete: remove departed rows; flag: set `flag_field`=false (+`exited_at_field`);
    #: mirror: delete only rows this product created (others are left alone)
    removal: Literal["delete", "flag", "mirror"] = "delete"
    flag_field: str = "is_member"
    exited_at_field: str | None = None
    #: probe the DE key and primary key with a no-op delete before sending [derived]
    preflight: bool = True

    @model_validator(mode="after")
    def _audience(self) -> DataExtensionDestination:
        if self.source.audience is None:
            raise ValueError("a data extension destination takes an audience source")
        return self


class JourneyDestination(_Base):
    type: Literal["journey_entry"]
    event_definition_key: str = Field(pattern=r"^[^.]+$")  # SFMC: must not contain a period
    contact_key: str = "crm_record_id"
    data: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Constant] = Field(default_factory=dict)
    data_extension: EntryDataExtension | None = None

    @field_validator("data")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return _identifiers(value)

    @model_validator(mode="after")
    def _triggers(self) -> JourneyDestination:
        if self.source.triggers is None:
            raise ValueError("a journey destination takes a triggers source")
        if not _IDENT.match(self.contact_key):
            raise ValueError(f"contact_key: {self.contact_key!r} is not a column name")
        return self


class CampaignDestination(_Base):
    type: Literal["campaign_members"]
    campaign_id: str = Field(pattern=r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
    status: str = "Sent"  # a new member's Status
    #: Also set Status on existing members (off: once a member exists, its Status is Salesforce's
    #: -- a rep's or a journey's "Responded" is never reset by this product)
    manage_status: bool = False
    external_id_field: str = "CDP_Member_Key__c"
    fields: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Constant] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return _identifiers(value)

    @model_validator(mode="after")
    def _audience(self) -> CampaignDestination:
        if self.source.audience is None:
            raise ValueError("a campaign_members destination takes an audience source")
        return self


Destination = Annotated[
    DataExtensionDestination | JourneyDestination | CampaignDestination,
    Field(discriminator="type"),
]


class Destinations(StrictModel):
    #: row attempts (over runs) before a failing row moves to dead_letters
    max_attempts: int = Field(default=5, ge=1)
    #: request rate for the Salesforce clients (None: the Salesforce settings' value)
    requests_per_minute: int | None = Field(default=None, gt=0)
    batching: Batching = Field(default_factory=Batching)
    destinations: list[Destination] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Destinations:
        seen: set[str] = set()
        for d in self.destinations:
            if d.name in seen:
                raise ValueError(f"destination name {d.name!r} is used twice")
            seen.add(d.name)
        return self

    def get(self, name: str) -> Destination:
        for d in self.destinations:
            if d.name == name:
                return d
        raise KeyError(name)


def load_destinations(path: Path | str) -> Destinations:
    """Load and validate a destinations file; problems raise one ConfigError naming the field."""
    return load_yaml_model(Destinations, Path(path))
