"""Declared shapes of the emulated org: sObjects, data extensions, journey event definitions.

Field metadata mirrors what `describe` reports (type, length, externalId, createable,
updateable, nillable, picklist values), so the same declarations drive both `describe`
and the validation every write goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SfType = Literal[
    "id", "string", "email", "boolean", "datetime", "date", "picklist", "reference", "int", "double"
]
DeType = Literal["Text", "Number", "Decimal", "Boolean", "Date", "EmailAddress", "Phone"]


@dataclass(frozen=True)
class SField:
    name: str
    type: SfType
    length: int = 255
    label: str = ""
    external_id: bool = False
    unique: bool = False
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    default: object = None
    picklist: tuple[str, ...] = ()
    reference_to: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label or self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "length": self.length if self.type in ("string", "email", "picklist") else 0,
            "externalId": self.external_id,
            "idLookup": self.external_id or self.type == "id",
            "unique": self.unique,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "custom": self.name.endswith("__c"),
            "defaultedOnCreate": self.default is not None,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "value": v}
                for v in self.picklist
            ],
            "referenceTo": list(self.reference_to),
        }


@dataclass(frozen=True)
class SObject:
    name: str
    fields: tuple[SField, ...]

    def field(self, name: str) -> SField | None:
        # Field names are case-insensitive in the API.
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)

    @property
    def required(self) -> list[SField]:
        return [f for f in self.fields if f.createable and not f.nillable and f.default is None]

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.name,
            "custom": False,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "keyPrefix": None,
            "fields": [f.describe() for f in self.fields],
            "urls": {"sobject": f"/services/data/vXX.X/sobjects/{self.name}"},
        }


def _system_fields() -> tuple[SField, ...]:
    def ro(name: str, type_: SfType, length: int = 255) -> SField:
        return SField(name, type_, length, nillable=False, createable=False, updateable=False)

    return (
        ro("Id", "id", 18),
        ro("IsDeleted", "boolean"),
        ro("CreatedDate", "datetime"),
        ro("LastModifiedDate", "datetime"),
        ro("SystemModstamp", "datetime"),
    )


CUSTOMER_TYPES = ("Prospect", "Customer", "Owner", "Fleet")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)

_PERSON = (
    SField("FirstName", "string", 40),
    SField("LastName", "string", 80, nillable=False),
    SField("Email", "email", 80),
    SField("Phone", "string", 40),
    SField("HasOptedOutOfEmail", "boolean", nillable=False, default=False),
    SField("Customer_Type__c", "picklist", 40, label="Customer Type", picklist=CUSTOMER_TYPES),
    SField("Web_User_Id__c", "string", 64, label="Web User Id", external_id=True, unique=True),
)


def default_sobjects() -> dict[str, SObject]:
    contact = SObject("Contact", (*_system_fields(), *_PERSON))
    lead = SObject(
        "Lead",
        (
            *_system_fields(),
            *_PERSON,
            SField("Company", "string", 255, nillable=False),
            SField(
                "Status",
                "picklist",
                40,
                nillable=False,
                default=LEAD_STATUSES[0],
                picklist=LEAD_STATUSES,
            ),
        ),
    )
    campaign = SObject(
        "Campaign",
        (
            *_system_fields(),
            SField("Name", "string", 80, nillable=False),
            SField("Type", "picklist", 40, picklist=("Email", "Event", "Other")),
            SField("Status", "picklist", 40, picklist=("Planned", "In Progress", "Completed")),
            SField("IsActive", "boolean", nillable=False, default=True),
        ),
    )
    member = SObject(
        "CampaignMember",
        (
            *_system_fields(),
            SField(
                "CampaignId",
                "reference",
                18,
                nillable=False,
                updateable=False,
                reference_to=("Campaign",),
            ),
            SField("ContactId", "reference", 18, updateable=False, reference_to=("Contact",)),
            SField("LeadId", "reference", 18, updateable=False, reference_to=("Lead",)),
            # Real orgs validate Status against the campaign's CampaignMemberStatus rows.
            SField("Status", "picklist", 40),
            SField("HasResponded", "boolean", createable=False, updateable=False, nillable=False),
            SField("CDP_Member_Key__c", "string", 120, external_id=True, unique=True),
            SField("CDP_Audience__c", "string", 120, label="CDP Audience"),
        ),
    )
    return {o.name: o for o in (contact, lead, campaign, member)}


@dataclass(frozen=True)
class DeField:
    name: str
    type: DeType = "Text"
    length: int | None = 254
    primary_key: bool = False
    nullable: bool = True


@dataclass
class DataExtension:
    """An SFMC data extension: columns and primary key; rows keyed by the primary-key tuple."""

    key: str
    fields: tuple[DeField, ...]
    rows: dict[tuple[str, ...], dict[str, object]] = field(default_factory=dict)

    @property
    def primary_keys(self) -> list[str]:
        return [f.name for f in self.fields if f.primary_key]

    def field(self, name: str) -> DeField | None:
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)


@dataclass
class EventDefinition:
    """A Journey Builder API event: its key and the entry data extension's columns."""

    key: str
    fields: tuple[DeField, ...]
