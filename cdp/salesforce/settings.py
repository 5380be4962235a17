"""Salesforce settings: where Sales Cloud and Marketing Cloud live and how to log in.

Secrets never live here: fields ending in `_env` name the environment variable that holds
the secret (read at connect time by `cdp.salesforce.secrets`). The defaults point at the
local emulator (`cdp sandbox salesforce`, https://127.0.0.1:8443, CA written to
`.cdp/sandbox/ca.pem`). For a real org set `sales_cloud.login_url` (your My Domain URL),
`marketing_cloud.auth_base_url` (the installed package's auth base URI) and `ca_bundle: null`
(the system trust store).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cdp.specs import StrictModel

EMULATOR_URL = "https://127.0.0.1:8443"


def _https(value: str | None) -> str | None:
    if value is not None and not value.startswith("https://"):
        raise ValueError("must be an https:// URL")
    return value.rstrip("/") if value else value


class CrmPullSettings(StrictModel):
    """Which Sales Cloud fields feed `crm_customers` (column -> Salesforce field)."""

    objects: list[Literal["Contact", "Lead"]] = ["Contact", "Lead"]  # noqa: RUF012 - pydantic copies it
    uid_field: str = "Web_User_Id__c"
    email_field: str = "Email"
    opted_out_field: str = "HasOptedOutOfEmail"
    customer_type_field: str = "Customer_Type__c"
    #: extra crm_customers columns: column name -> Salesforce field name
    attributes: dict[str, str] = Field(default_factory=dict)
    #: re-read this much before the watermark, for edits committed late or stamped within the
    #: watermark's second (rows are merged by id, so a re-read is harmless)
    overlap_seconds: float = Field(default=60.0, ge=0)
    #: the pipeline pulls incrementally, and in full this often: only a full pull drops the
    #: records deleted (or merged away) in Salesforce
    full_pull_every_hours: float = Field(default=24.0, gt=0)


class SalesCloudSettings(StrictModel):
    login_url: str | None = Field(
        default=None, description="My Domain / login URL; default: base_url"
    )
    api_version: str = "59.0"
    auth: Literal["client_credentials", "jwt"] = "client_credentials"
    consumer_key: str = "cdp-sandbox-consumer-key"
    consumer_secret_env: str = "CDP_SF_CONSUMER_SECRET"
    #: JWT bearer: the integration user, and the env var holding the PEM private key
    username: str | None = "integration@cdp.sandbox"
    private_key_env: str = "CDP_SF_PRIVATE_KEY"
    jwt_audience: str | None = Field(default=None, description="default: login_url")
    bulk_poll_seconds: float = Field(
        default=2.0, gt=0, description="first wait before polling a Bulk 2.0 job"
    )
    crm: CrmPullSettings = Field(default_factory=CrmPullSettings)

    @field_validator("login_url", "jwt_audience")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _https(value)


class MarketingCloudSettings(StrictModel):
    auth_base_url: str | None = Field(
        default=None, description="installed package auth base URI; default: base_url/mc-auth"
    )
    account_id: str | None = None
    client_id_env: str = "CDP_MC_CLIENT_ID"
    client_secret_env: str = "CDP_MC_CLIENT_SECRET"
    #: renew the token this many seconds before `expires_in` runs out
    refresh_margin_seconds: float = Field(default=60.0, ge=0)

    @field_validator("auth_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _https(value)


class SalesforceSettings(StrictModel):
    base_url: str = Field(
        default=EMULATOR_URL, description="the emulator; used where a URL below is unset"
    )
    ca_bundle: str | None = Field(
        default=".cdp/sandbox/ca.pem", description="PEM to trust; null = system store"
    )
    requests_per_minute: int | None = Field(default=2000, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    sales_cloud: SalesCloudSettings = Field(default_factory=SalesCloudSettings)
    marketing_cloud: MarketingCloudSettings = Field(default_factory=MarketingCloudSettings)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _https(value) or value

    @property
    def sales_login_url(self) -> str:
        return self.sales_cloud.login_url or self.base_url

    @property
    def mc_auth_url(self) -> str:
        return (self.marketing_cloud.auth_base_url or f"{self.base_url}/mc-auth").rstrip("/") + "/"

    @property
    def verify(self) -> str | bool:
        """What requests' `verify=` gets: the CA bundle path, or True for the system store."""
        return self.ca_bundle or True
