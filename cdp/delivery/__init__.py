"""Delivery: audiences and trigger firings -> Marketing Cloud data extensions, Journey Builder
entry events and Sales Cloud campaign members, diffed in the warehouse, sent in bounded
batches, every row's outcome recorded.

    dests = load_destinations("fixtures/specs/destinations.yaml")
    clients = build_clients(salesforce_settings, dests)
    plan = plan_delivery(backend, dests.get("ev9_members"))        # counts + samples
    report = deliver(backend, dests, clients, run_id="2024-06-01T10:00")

Tables: `delivery_state`, `sync_log`, `dead_letters` (see `tables.py`). Journey events are
sent at most once; see `send_journey.py` for the pending/uncertain policy and
`release_uncertain` for the operator's way out.
"""

from __future__ import annotations

from cdp.delivery.clients import Clients, build_clients
from cdp.delivery.config import Destinations, load_destinations
from cdp.delivery.engine import (
    DeliveryPlan,
    DeliveryReport,
    DestinationReport,
    deliver,
    plan_delivery,
)
from cdp.delivery.state import release_uncertain

__all__ = [
    "Clients",
    "DeliveryPlan",
    "DeliveryReport",
    "DestinationReport",
    "Destinations",
    "build_clients",
    "deliver",
    "load_destinations",
    "plan_delivery",
    "release_uncertain",
]
