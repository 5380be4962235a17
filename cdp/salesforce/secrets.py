"""Secrets from the environment or Prefect Secret blocks, and redaction so they never reach a
log line or an error.

Every secret (client secrets, private keys, access tokens, signed assertions) is registered
with `REDACTOR` the moment it is read or received; `redact()` blanks registered values in
any text, and `RedactingFilter` does the same for log records of the `cdp.salesforce` logger.
"""

from __future__ import annotations

import logging
import os
import threading

from cdp.errors import ConfigError

MASK = "***"


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 6:  # short strings would blank ordinary words
            with self._lock:
                self._values.add(value)
                # PEM keys also appear line by line (e.g. in tracebacks of a bad key).
                self._values.update(line for line in value.splitlines() if len(line) >= 16)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text


REDACTOR = Redactor()


def redact(text: object) -> str:
    return REDACTOR.redact(str(text))


def block_name(env_name: str) -> str:
    """The Prefect Secret block that stands in for env var `env_name`: CDP_MC_CLIENT_SECRET ->
    cdp-mc-client-secret (block names are lowercase, with dashes)."""
    return env_name.lower().replace("_", "-")


def _from_secret_block(env_name: str) -> str | None:
    """The Secret block's value, when connected to a Prefect API (a deployment's worker, or
    PREFECT_API_URL set); None without an API or without the block."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return None  # no API to ask: never start a temporary server just to look
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(block_name(env_name))
    except ValueError:  # no such block
        return None
    assert isinstance(block, Secret)  # called from sync code: the block, not a coroutine
    return str(block.get())


def secret_from_env(name: str) -> str:
    """The value of env var `name`, else of the Prefect Secret block `block_name(name)`; the
    error names both, never a value."""
    value = os.environ.get(name) or _from_secret_block(name)
    if not value:
        raise ConfigError(
            f"environment variable {name} is not set (nor a Prefect Secret block "
            f"{block_name(name)!r})",
            field=name,
        )
    REDACTOR.add(value)
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


logger = logging.getLogger("cdp.salesforce")
logger.addFilter(RedactingFilter())
