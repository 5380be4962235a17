"""Journey Builder entry events: at most once per (person, trigger, occurrence).

Per batch of <= 100 members:
1. the contact's entry data extension row is upserted (idempotent; members whose row fails
   are not fired);
2. their keys are recorded `pending` in the warehouse (committed);
3. one async events call fires the batch; per-member results mark each key `sent`
   (queued) or `failed` (not queued: safe to retry next run);
4. the outcomes are committed.

An HTTP error response means nothing was queued, so those keys become `failed` and retry
next run. A broken connection or timeout after sending (`UncertainDeliveryError`) or a
process killed between 2 and 4 leaves keys whose fate SFMC cannot tell us: they become
`uncertain`, go to dead_letters for review, and are never fired again automatically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cdp.delivery import send_de
from cdp.delivery.config import Batching, JourneyDestination
from cdp.delivery.state import Outcome, PlanRow
from cdp.errors import TransientError
from cdp.salesforce.errors import UncertainDeliveryError
from cdp.salesforce.marketing_cloud import EventMember, MarketingCloudClient

CONTACT = "__contact_key"


def fire_batch(
    mc: MarketingCloudClient,
    dest: JourneyDestination,
    rows: Sequence[PlanRow],
    data: Sequence[Mapping[str, Any]],
    de_rows: Sequence[Mapping[str, Any]],
    batching: Batching,
    record_pending: Callable[[Sequence[PlanRow]], None],
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(rows)
    todo = list(range(len(rows)))
    if dest.data_extension is not None:
        de = dest.data_extension
        written = send_de.upsert(
            mc,
            de.de_key,
            de.primary_key,
            de_rows,
            batching,
            sync=len(de_rows) <= batching.sync_max_rows,
        )
        todo = []
        for i, o in enumerate(written):
            if o.status == "sent":
                todo.append(i)
            else:
                outcomes[i] = o
    if todo:
        record_pending([rows[i] for i in todo])
        members = [
            EventMember(str(data[i][CONTACT]), {k: v for k, v in data[i].items() if k != CONTACT})
            for i in todo
        ]
        try:
            result = mc.fire_events_batch(dest.event_definition_key, members)
        except UncertainDeliveryError as err:
            for i in todo:
                outcomes[i] = Outcome("uncertain", "UNCERTAIN_DELIVERY", str(err))
        except TransientError as err:  # an error response: nothing was queued
            for i in todo:
                outcomes[i] = Outcome("retry", "TRANSIENT", str(err))
            raise _Aborted(_complete(outcomes), err) from err
        else:
            by_position = result.members
            for n, i in enumerate(todo):
                if n >= len(by_position):  # no result for this member: we cannot know
                    outcomes[i] = Outcome(
                        "uncertain", "NO_MEMBER_RESULT", "batch reply omitted the member"
                    )
                elif by_position[n].queued:
                    outcomes[i] = Outcome("sent", remote_id=by_position[n].event_instance_id)
                else:
                    outcomes[i] = Outcome("failed", "NOT_QUEUED", by_position[n].message)
    return _complete(outcomes)


def _complete(outcomes: list[Outcome | None]) -> list[Outcome]:
    return [o or Outcome("retry", "NOT_ATTEMPTED", "batch aborted") for o in outcomes]


class _Aborted(Exception):
    """A batch ended by a request-level failure; carries the outcomes to record first."""

    def __init__(self, outcomes: list[Outcome], cause: Exception):
        super().__init__(str(cause))
        self.outcomes, self.cause = outcomes, cause
