"""The Salesforce clients a delivery run uses, built from settings (lazy: nothing connects
until the first call)."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.delivery.config import Destinations
from cdp.salesforce.http import RateLimiter, RetryPolicy, make_session
from cdp.salesforce.marketing_cloud import MarketingCloudClient
from cdp.salesforce.sales_cloud import SalesCloudClient
from cdp.salesforce.settings import SalesforceSettings


@dataclass
class Clients:
    mc: MarketingCloudClient
    sales: SalesCloudClient


def build_clients(
    settings: SalesforceSettings,
    destinations: Destinations | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> Clients:
    """One rate limiter per surface at `destinations.requests_per_minute` (else the settings')."""
    rpm = (
        destinations.requests_per_minute if destinations else None
    ) or settings.requests_per_minute
    policy = policy or RetryPolicy.from_settings(settings)
    return Clients(
        mc=MarketingCloudClient(
            settings, session=make_session(settings, RateLimiter(rpm)), policy=policy
        ),
        sales=SalesCloudClient(
            settings, session=make_session(settings, RateLimiter(rpm)), policy=policy
        ),
    )
