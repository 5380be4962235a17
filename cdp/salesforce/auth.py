"""Sales Cloud login without SOAP: OAuth client credentials or JWT bearer, then
simple-salesforce on the returned instance with our own session (TLS trust, timeouts,
rate limit).

SOAP `login()` (username/password/security token) is being retired (facts §3.1), so it is
deliberately not offered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt
import requests
from simple_salesforce import Salesforce

from cdp.errors import ConfigError
from cdp.salesforce.http import send
from cdp.salesforce.secrets import REDACTOR, secret_from_env
from cdp.salesforce.settings import SalesforceSettings

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class SalesToken:
    instance_url: str
    access_token: str = field(repr=False)


def _jwt_assertion(settings: SalesforceSettings) -> str:
    sc = settings.sales_cloud
    if not sc.username:
        raise ConfigError(
            "JWT bearer login needs sales_cloud.username", field="salesforce.sales_cloud.username"
        )
    key = secret_from_env(sc.private_key_env)
    claims = {
        "iss": sc.consumer_key,
        "sub": sc.username,
        "aud": sc.jwt_audience or settings.sales_login_url,
        "exp": int(time.time()) + 180,  # Salesforce accepts at most a few minutes
    }
    try:
        assertion = jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as err:
        raise ConfigError(
            f"{sc.private_key_env} does not hold a usable RSA private key (PEM): {type(err).__name__}",
            field=sc.private_key_env,
        ) from None
    REDACTOR.add(assertion)
    return assertion


def fetch_token(settings: SalesforceSettings, session: requests.Session) -> SalesToken:
    sc = settings.sales_cloud
    if sc.auth == "jwt":
        form = {"grant_type": JWT_GRANT, "assertion": _jwt_assertion(settings)}
    else:
        form = {
            "grant_type": "client_credentials",
            "client_id": sc.consumer_key,
            "client_secret": secret_from_env(sc.consumer_secret_env),
        }
    url = f"{settings.sales_login_url}/services/oauth2/token"
    body = send(session, "POST", url, what=f"Sales Cloud login ({sc.auth})", data=form).json()
    REDACTOR.add(body.get("access_token"))
    return SalesToken(instance_url=body["instance_url"], access_token=body["access_token"])


def connect(
    settings: SalesforceSettings, session: requests.Session, token: SalesToken
) -> Salesforce:
    return Salesforce(
        instance_url=token.instance_url,
        session_id=token.access_token,
        session=session,
        version=settings.sales_cloud.api_version,
        client_id="cdp",
    )
