"""One error tree for the whole product.

Every driver error is translated once, at the boundary where it happens, into one of these.
Whether a failure is worth retrying follows from its type (`TransientError`), never from
string matching at the call site. The CLI catches `CdpError` once and prints a one-line message.
"""

from __future__ import annotations

from pathlib import Path


class CdpError(Exception):
    """Root of every error this product raises on purpose."""


class ConfigError(CdpError):
    """A spec or setting is invalid. Names the file and the field when they are known."""

    def __init__(self, message: str, *, path: Path | str | None = None, field: str | None = None):
        self.path = Path(path) if path is not None else None
        self.field = field
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if field:
                where += f": {field}"
            where += ": "
        elif field:
            where = f"{field}: "
        super().__init__(f"{where}{message}")


class InputError(CdpError):
    """Input data (an export extract, a table, a date range) is missing or malformed."""


class BackendError(CdpError):
    """The warehouse refused or failed a statement."""


class TransientError(CdpError):
    """Worth retrying: timeouts, throttling, 5xx, dropped connections."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class TerminalError(CdpError):
    """Retrying will not help: bad request, bad credentials, unknown object."""


class DeliveryError(CdpError):
    """A delivery run finished with rows that did not reach their destination."""

    def __init__(self, message: str, *, sent: int = 0, failed: int = 0):
        super().__init__(f"{message} (sent={sent}, failed={failed})")
        self.sent = sent
        self.failed = failed
