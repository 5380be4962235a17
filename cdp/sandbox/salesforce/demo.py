"""A demo org: Contacts/Leads keyed by the site's user id, one Campaign, the CDP's data
extensions and journey events. Deterministic for a given (uids, seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cdp.sandbox.salesforce.schema import CUSTOMER_TYPES, DeField
from cdp.sandbox.salesforce.state import EmulatorState

_FIRST = (
    "Minji",
    "Jisoo",
    "Hyun",
    "Seojun",
    "Ana",
    "Liam",
    "Noah",
    "Emma",
    "Yuna",
    "Daniel",
    "Sara",
    "Joon",
)
_LAST = (
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Smith",
    "Garcia",
    "Yoon",
    "Han",
    "Lim",
    "Shin",
)
CAMPAIGN_STATUSES = ["Sent", "Responded", "Test Drive Booked"]


@dataclass(frozen=True)
class DemoOrg:
    campaign_id: str
    contacts: int
    leads: int


def declare_marketing_cloud(state: EmulatorState) -> None:
    """The data extensions and API events the CDP delivers to."""
    state.add_data_extension(
        "cdp_audience_members",
        [
            DeField("audience_key", "Text", 100, primary_key=True, nullable=False),
            DeField("contact_key", "Text", 100, primary_key=True, nullable=False),
            DeField("uid", "Text", 100),
            DeField("email", "EmailAddress", 254),
            DeField("customer_type", "Text", 50),
            DeField("is_member", "Boolean", None, nullable=False),
            DeField("updated_at", "Date", None),
        ],
    )
    state.add_data_extension(
        "cdp_trigger_firings",
        [
            DeField("firing_id", "Text", 100, primary_key=True, nullable=False),
            DeField("trigger_key", "Text", 100, nullable=False),
            DeField("contact_key", "Text", 100, nullable=False),
            DeField("uid", "Text", 100),
            DeField("fired_at", "Date", None, nullable=False),
            DeField("payload", "Text", 4000),
        ],
    )
    event_fields = [
        DeField("uid", "Text", 100, nullable=False),
        DeField("email", "EmailAddress", 254),
        DeField("model", "Text", 50),
        DeField("fired_at", "Date", None),
    ]
    state.add_event_definition("APIEvent-test-drive-abandon", event_fields)
    state.add_event_definition("APIEvent-ev9-interest", event_fields)


def seed_demo_org(state: EmulatorState, uids: list[str], seed: int) -> DemoOrg:
    """Create one Contact (about 70%) or Lead per UID, with email, opt-out and customer type.

    Records are dated over the past day (7 s apart), so an incremental CRM pull after a
    test's edits picks up only those edits.
    """
    rng = random.Random(seed)
    declare_marketing_cloud(state)
    campaign_id = state.add_campaign(
        "CDP Audience Sync", CAMPAIGN_STATUSES, responded=("Responded", "Test Drive Booked")
    )
    counts = {"Contact": 0, "Lead": 0}
    start = state.stamp() - timedelta(days=1)
    with state.lock:
        for i, uid in enumerate(uids):
            kind = "Contact" if rng.random() < 0.7 else "Lead"
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            # Spread over the past day, a few seconds apart, as edits in a real org would be.
            now = start + timedelta(seconds=7 * i)
            rec: dict[str, Any] = {
                "Id": state.ids.new(kind), "FirstName": first, "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}{i}@example.com", "Phone": None,
                "HasOptedOutOfEmail": rng.random() < 0.1, "Customer_Type__c": rng.choice(CUSTOMER_TYPES),
                "Web_User_Id__c": uid, "IsDeleted": False,
                "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now,
            }  # fmt: skip
            if kind == "Lead":
                rec |= {"Company": f"{last} Household", "Status": "Open - Not Contacted"}
            state.records[kind][rec["Id"]] = rec
            counts[kind] += 1
    return DemoOrg(campaign_id, counts["Contact"], counts["Lead"])


def demo_uids(n: int = 300) -> list[str]:
    return [f"u{i:06d}" for i in range(1, n + 1)]
