"""Stateful property: for any sequence of desired memberships, trigger firings, consent
changes and injected failures, once failures stop and runs continue, every destination
equals the desired state, and no journey event is ever sent twice (checked after every run).
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from cdp.backends.duckdb import DuckDBBackend
from cdp.delivery import build_clients, deliver
from cdp.salesforce.http import RetryPolicy
from cdp.salesforce.settings import SalesforceSettings
from cdp.sandbox.salesforce import Emulator
from tests.integration.test_delivery_support import (
    T0,
    campaign_members,
    de_rows,
    declare,
    destinations,
    journey_keys,
    load_inputs,
    people,
)

NOW = T0 + timedelta(hours=1)
FAULTS = ("throttle_de", "error_de", "drop_de", "error_journey", "throttle_journey",
          "expire_tokens", "error_campaign", "drop_campaign", "fail_row")  # fmt: skip


def test_delivery_converges_and_never_fires_twice(
    emulator: Emulator, sf_settings: SalesforceSettings
) -> None:
    pool = people(emulator, 10)
    policy = RetryPolicy(max_attempts=4, backoff=0.001, max_backoff=0.01)

    class Delivery(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            emulator.faults.clear()
            self.names = declare(emulator)
            # Injected row failures last at most 2 runs, fewer than max_attempts: nothing dies.
            self.dests = destinations(
                self.names,
                max_attempts=10,
                batching={"journey_batch": 3, "sync_max_rows": 4, "collection_max": 3},
            )
            self.clients = build_clients(sf_settings, self.dests, policy=policy)
            self.duck = DuckDBBackend(":memory:")
            self.members: set[int] = set()
            self.opted: set[int] = set()
            self.firings: set[tuple[int, str]] = set()
            self.runs = 0
            self._load()

        def _load(self) -> None:
            load_inputs(
                self.duck, pool, [pool[i].uid for i in sorted(self.members)],
                opted_out={pool[i].uid for i in self.opted},
                firings=[(pool[i].uid, o) for i, o in sorted(self.firings)],
            )  # fmt: skip

        @rule(members=st.sets(st.integers(0, 9)), opted=st.sets(st.integers(0, 9), max_size=2))
        def change_desired(self, members: set[int], opted: set[int]) -> None:
            self.members, self.opted = members, opted
            self._load()

        @rule(person=st.integers(0, 9), occurrence=st.sampled_from(["a", "b"]))
        def fire_trigger(self, person: int, occurrence: str) -> None:
            self.firings.add((person, occurrence))
            self._load()

        @rule(kind=st.sampled_from(FAULTS), times=st.integers(1, 3), person=st.integers(0, 9))
        def inject(self, kind: str, times: int, person: int) -> None:
            f, n = emulator.faults, self.names
            if kind == "throttle_de":
                f.throttle(
                    f"/mc-rest/(hub|data)/v1/.*key:{n.de_key}/", retry_after=0.01, times=times
                )
            elif kind == "error_de":
                f.error(f"/mc-rest/(hub|data)/v1/.*key:{n.de_key}/", status=503, times=times)
            elif kind == "drop_de":
                f.drop(f"/mc-rest/(hub|data)/v1/.*key:{n.de_key}/", times=times)
            elif kind == "error_journey":
                f.error("/interaction/v1/async/events", status=503, times=times)
            elif kind == "throttle_journey":
                f.throttle("/interaction/v1/async/events", retry_after=0.01, times=times)
            elif kind == "expire_tokens":
                f.expire_tokens("/mc-rest/|/services/data/", times=1)
            elif kind == "error_campaign":
                f.error("/composite/sobjects", status=503, times=times)
            elif kind == "drop_campaign":
                f.drop("PATCH /services/data/.*/composite/sobjects", times=times)
            else:
                crm, uid, budget = pool[person].crm_id, pool[person].uid, [2]

                def once_or_twice(row: dict[str, object]) -> bool:
                    hit = crm in row.values() or uid in row.values()
                    if hit and budget[0] > 0:
                        budget[0] -= 1
                        return True
                    return False

                for target in (n.de_key, n.event_key, "CampaignMember"):
                    f.fail_rows(target, once_or_twice)

        @rule()
        def run(self) -> None:
            self.runs += 1
            deliver(self.duck, self.dests, self.clients, run_id=f"r{self.runs}", now=NOW)

        @invariant()
        def no_journey_event_twice(self) -> None:
            keys = journey_keys(emulator, self.names.event_key)
            assert len(keys) == len(set(keys)), keys

        def teardown(self) -> None:
            try:
                emulator.faults.clear()
                for i in range(3):  # a run to retry stopped destinations, one more to be sure
                    deliver(self.duck, self.dests, self.clients, run_id=f"final{i}", now=NOW)
                want = {pool[i].crm_id for i in self.members - self.opted}
                assert set(de_rows(emulator, self.names.de_key)) == want
                assert campaign_members(emulator, self.names.campaign_id) == want
                keys = journey_keys(emulator, self.names.event_key)
                assert len(keys) == len(set(keys))
                due = {f"abandon|{pool[i].uid}|{o}" for i, o in self.firings if i not in self.opted}
                everything = {f"abandon|{pool[i].uid}|{o}" for i, o in self.firings}
                assert due <= set(keys) <= everything
            finally:
                self.duck.close()

    run_state_machine_as_test(
        Delivery,
        settings=settings(
            max_examples=12,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
