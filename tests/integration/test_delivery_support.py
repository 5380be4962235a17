"""Helpers for the delivery tests: input tables built by hand, per-test destinations in the
shared emulator (own data extension, event definition and campaign), and readers of the
destination's state. No tests here."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from cdp.backends.base import Backend
from cdp.delivery import Destinations
from cdp.sandbox.salesforce import DeField, Emulator
from cdp.specs import validate

TS = pa.timestamp("us", tz="UTC")
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
_tags = itertools.count(1)


@dataclass(frozen=True)
class Person:
    uid: str
    crm_id: str
    record_type: str
    email: str


@dataclass(frozen=True)
class Names:
    tag: str
    de_key: str
    entry_de_key: str
    event_key: str
    campaign_id: str


def people(emulator: Emulator, n: int = 40) -> list[Person]:
    """The demo org's people (Contacts and Leads), by uid."""
    found = []
    for kind in ("Contact", "Lead"):
        for r in emulator.state.all(kind):
            found.append(Person(r["Web_User_Id__c"], r["Id"], kind, r["Email"]))
    return sorted(found, key=lambda p: p.uid)[:n]


def declare(emulator: Emulator, tag: str | None = None) -> Names:
    tag = tag or f"t{next(_tags)}"
    state = emulator.state
    names = Names(tag, f"aud_{tag}", f"entry_{tag}", f"APIEvent-{tag}", "")
    state.add_data_extension(
        names.de_key,
        [
            DeField("audience_key", "Text", 100, primary_key=True, nullable=False),
            DeField("contact_key", "Text", 100, primary_key=True, nullable=False),
            DeField("uid", "Text", 100),
            DeField("email", "EmailAddress", 254),
            DeField("is_member", "Boolean", None),
            DeField("exited_at", "Date", None),
        ],
    )
    state.add_data_extension(
        names.entry_de_key,
        [
            DeField("firing_id", "Text", 200, primary_key=True, nullable=False),
            DeField("contact_key", "Text", 100, nullable=False),
            DeField("model", "Text", 50),
        ],
    )
    state.add_event_definition(
        names.event_key,
        [
            DeField("cdp_key", "Text", 200, nullable=False),
            DeField("uid", "Text", 100, nullable=False),
            DeField("email", "EmailAddress", 254),
            DeField("model", "Text", 50),
        ],
    )
    campaign = state.add_campaign(f"CDP {tag}", ["Sent", "Responded"])
    return Names(names.tag, names.de_key, names.entry_de_key, names.event_key, campaign)


def destinations(
    names: Names,
    *,
    removal: str = "delete",
    status: str = "Sent",
    manage_status: bool = False,
    campaign_tag: str | None = None,
    **top: Any,
) -> Destinations:
    return validate(
        Destinations,
        {
            "max_attempts": top.pop("max_attempts", 3),
            "batching": top.pop("batching", {}),
            "destinations": [
                {
                    "name": "de", "type": "mc_data_extension", "source": {"audience": "aud"},
                    "de_key": names.de_key, "primary_key": ["audience_key", "contact_key"],
                    "de_fields": ["audience_key", "contact_key", "uid", "email", "is_member", "exited_at"],
                    "fields": {"contact_key": "crm_record_id", "uid": "uid", "email": "email"},
                    "constants": {"audience_key": "aud"} | ({"is_member": True} if removal != "flag" else {}),
                    "removal": removal, "exited_at_field": "exited_at",
                },
                {
                    "name": "journey", "type": "journey_entry", "source": {"triggers": ["abandon"]},
                    "event_definition_key": names.event_key, "contact_key": "crm_record_id",
                    "data": {"cdp_key": "delivery_key", "uid": "uid", "email": "email", "model": "model"},
                    "data_extension": {
                        "de_key": names.entry_de_key, "primary_key": ["firing_id"],
                        "fields": {"firing_id": "delivery_key", "contact_key": "crm_record_id", "model": "model"},
                    },
                },
                {
                    "name": "campaign", "type": "campaign_members", "source": {"audience": "aud"},
                    "campaign_id": names.campaign_id, "status": status,
                    "manage_status": manage_status,
                    "constants": {"CDP_Audience__c": campaign_tag or names.tag},
                },
            ],
            **top,
        },
    )  # fmt: skip


def load_inputs(
    backend: Backend,
    persons: list[Person],
    members: list[str],
    *,
    opted_out: set[str] = frozenset(),  # type: ignore[assignment]
    holdout: set[str] = frozenset(),  # type: ignore[assignment]
    firings: list[tuple[str, str]] = (),  # type: ignore[assignment]  # (uid, occurrence)
    deliver_after: dict[tuple[str, str], datetime] | None = None,
    emails: dict[str, str] | None = None,
) -> None:
    """profiles for `persons`; audience `aud` = `members`; trigger `abandon` firings."""
    emails = emails or {}
    by_uid = {p.uid: p for p in persons}
    backend.load_arrow(
        "profiles",
        pa.table(
            {
                "uid": [p.uid for p in persons],
                "crm_record_id": [p.crm_id for p in persons],
                "record_type": [p.record_type for p in persons],
                "email": [emails.get(p.uid, p.email) for p in persons],
                "opted_out": [p.uid in opted_out for p in persons],
                "customer_type": ["Prospect"] * len(persons),
                "device_count": pa.array([1] * len(persons), pa.int64()),
                "first_seen": pa.array([T0] * len(persons), TS),
                "last_seen": pa.array([T0] * len(persons), TS),
                "crm_matched": [True] * len(persons),
            }
        ),
        mode="replace",
    )
    backend.load_arrow(
        "audience_members",
        pa.table(
            {
                "audience": pa.array(["aud"] * len(members), pa.string()),
                "uid": pa.array(members, pa.string()),
                "crm_record_id": pa.array([by_uid[u].crm_id for u in members], pa.string()),
                "entered_at": pa.array([T0] * len(members), TS),
                "qualifying_events": pa.array([3] * len(members), pa.int64()),
                "last_event_at": pa.array([T0] * len(members), TS),
                "run_id": pa.array(["r"] * len(members), pa.string()),
                "is_holdout": pa.array([u in holdout for u in members], pa.bool_()),
            }
        ),
        mode="replace",
    )
    # `aud` was evaluated (delivery refuses an audience never evaluated: a misspelt name).
    backend.load_arrow(
        "audience_runs",
        pa.table(
            {"audience": ["aud"], "run_id": ["r"], "members": pa.array([len(members)], pa.int64())}
        ),
        mode="replace",
    )
    after = deliver_after or {}
    backend.load_arrow(
        "trigger_firings",
        pa.table(
            {
                "trigger": pa.array(["abandon"] * len(firings), pa.string()),
                "uid": pa.array([u for u, _ in firings], pa.string()),
                "start_event_key": pa.array([o for _, o in firings], pa.string()),
                "start_event_ts": pa.array([T0] * len(firings), TS),
                "fired_at": pa.array([T0] * len(firings), TS),
                "deliver_after": pa.array([after.get(f, T0) for f in firings], TS),
                "expires_at": pa.array([T0 + timedelta(days=1)] * len(firings), TS),
                "model": pa.array(["EV9"] * len(firings), pa.string()),
            }
        ),
        mode="replace",
    )


def de_rows(emulator: Emulator, key: str) -> dict[str, dict[str, Any]]:
    """contact_key -> row."""
    return {r["contact_key"]: r for r in emulator.state.de_rows(key)}


def journey_keys(emulator: Emulator, event_key: str) -> list[str]:
    """cdp_key of every entry (duplicates kept: each must appear once)."""
    return sorted(e.data["cdp_key"] for e in emulator.state.entries(event_key))


def campaign_members(emulator: Emulator, campaign_id: str) -> set[str]:
    return {
        m.get("ContactId") or m["LeadId"]
        for m in emulator.state.find("CampaignMember", CampaignId=campaign_id)
    }


def table(backend: Backend, sql: str) -> list[dict[str, Any]]:
    return backend.query(sql).to_pylist()
