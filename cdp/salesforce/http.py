"""HTTP plumbing shared by both clients: a session with TLS trust, timeouts and a rate
limit; retries with exponential backoff + jitter that honour Retry-After.

    session = make_session(settings)            # requests.Session, verify=<ca_bundle>
    retry(lambda: ..., policy, what="SFMC upsert", idempotent=True)
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from cdp.errors import TransientError
from cdp.salesforce.errors import UncertainDeliveryError, from_response, translate
from cdp.salesforce.secrets import logger, redact
from cdp.salesforce.settings import SalesforceSettings

T = TypeVar("T")


class RateLimiter:
    """At most `per_minute` requests in any rolling minute (shared by all threads)."""

    def __init__(self, per_minute: int | None, clock: Callable[[], float] = time.monotonic):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock

    def acquire(self) -> float:
        """Block until the next request may go; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return wait


class LimitedSession(requests.Session):
    """requests.Session with default timeouts, a rate limit and one TLS trust setting."""

    def __init__(self, verify: str | bool, timeout: tuple[float, float], limiter: RateLimiter):
        super().__init__()
        self.verify = verify
        self.default_timeout = timeout
        self.limiter = limiter

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        # Per request, or REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the env would beat session.verify.
        kwargs.setdefault("verify", self.verify)
        self.limiter.acquire()
        return super().request(method, url, *args, **kwargs)


def make_session(
    settings: SalesforceSettings, limiter: RateLimiter | None = None
) -> LimitedSession:
    return LimitedSession(
        settings.verify,
        (settings.connect_timeout, settings.read_timeout),
        limiter or RateLimiter(settings.requests_per_minute),
    )


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    jitter: float = 0.5  # up to +50% random spread, so parallel clients do not retry in step
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: SalesforceSettings) -> RetryPolicy:
        return cls(settings.max_attempts, settings.backoff_seconds, settings.max_backoff_seconds)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        spread = base * (1 + self.jitter * self.rng.random())
        return max(spread, retry_after or 0.0)  # never earlier than the server asked


def retry(fn: Callable[[], T], policy: RetryPolicy, *, what: str, idempotent: bool = True) -> T:
    """Call `fn`, retrying TransientErrors; non-idempotent calls never retry an
    UncertainDeliveryError (the first attempt may have been applied)."""
    attempt = 1
    while True:
        try:
            return fn()
        except TransientError as err:
            if attempt >= policy.max_attempts or (
                not idempotent and isinstance(err, UncertainDeliveryError)
            ):
                raise
            pause = policy.delay(attempt, err.retry_after)
            logger.warning(
                "%s failed (attempt %d/%d), retrying in %.2fs: %s",
                what,
                attempt,
                policy.max_attempts,
                pause,
                redact(err),
            )
            policy.sleep(pause)
            attempt += 1


def send(
    session: requests.Session, method: str, url: str, *, what: str, **kwargs: Any
) -> requests.Response:
    """One HTTP call; any failure or non-2xx status becomes a translated CdpError."""
    try:
        response = session.request(method, url, **kwargs)
    except Exception as err:
        raise translate(err, what) from None
    if response.status_code >= 300:
        raise from_response(response, what)
    return response
