"""Fault-injection plan: what goes wrong, on which route, how often.

A rule matches `re.search(pattern, "METHOD /path")` and fires either for the next `times`
matching requests or with `probability` drawn from a seeded RNG (reproducible runs).
Row failures are separate: they make chosen rows of an otherwise valid write fail the
way Salesforce reports per-row errors (Bulk failedResults, collection item errors, SFMC
async results).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "drop", "delay", "expire_tokens"]


@dataclass
class Fault:
    pattern: str
    kind: FaultKind
    times: int | None = 1  # None: unlimited
    probability: float = 1.0
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    hits: int = 0

    def label(self) -> str:
        return f"{self.kind}:{self.status}" if self.kind == "status" else self.kind


@dataclass
class RowFailure:
    target: str  # sObject name, data extension key or event definition key
    predicate: Callable[[dict[str, Any]], bool]
    code: str
    message: str
    hits: int = 0


@dataclass
class FaultPlan:
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    row_failures: list[RowFailure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    # ---- declaring -----------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def throttle(self, pattern: str, retry_after: float = 1.0, **kw: Any) -> Fault:
        """HTTP 429 with a Retry-After header (seconds)."""
        return self.add(Fault(pattern, "status", status=429, retry_after=retry_after, **kw))

    def error(self, pattern: str, status: int = 503, **kw: Any) -> Fault:
        return self.add(Fault(pattern, "status", status=status, **kw))

    def drop(self, pattern: str, **kw: Any) -> Fault:
        """Close the connection without sending a response."""
        return self.add(Fault(pattern, "drop", **kw))

    def delay(self, pattern: str, seconds: float, **kw: Any) -> Fault:
        return self.add(Fault(pattern, "delay", seconds=seconds, **kw))

    def expire_tokens(self, pattern: str, **kw: Any) -> Fault:
        """Revoke every token just before handling the matching request (it then gets 401)."""
        return self.add(Fault(pattern, "expire_tokens", **kw))

    def fail_rows(
        self,
        target: str,
        predicate: Callable[[dict[str, Any]], bool],
        code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message: str = "rejected by an injected validation rule",
    ) -> RowFailure:
        failure = RowFailure(target, predicate, code, message)
        with self._lock:
            self.row_failures.append(failure)
        return failure

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.row_failures.clear()
            self._rng = random.Random(self.seed)

    # ---- consulting ----------------------------------------------------------------------
    def pick(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request (each consumes one of its `times`)."""
        target = f"{method} {path}"
        fired = []
        with self._lock:
            for fault in self.faults:
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if not re.search(fault.pattern, target):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.hits += 1
                fired.append(fault)
        return fired

    def row_failure(self, target: str, row: dict[str, Any]) -> RowFailure | None:
        with self._lock:
            for failure in self.row_failures:
                if failure.target == target and failure.predicate(row):
                    failure.hits += 1
                    return failure
        return None
