"""Salesforce-shaped record ids: a 3-char key prefix, 12 chars, and the 3-char case checksum."""

from __future__ import annotations

import itertools
import threading

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

#: Key prefixes of the objects the emulator knows (as in real orgs).
PREFIXES = {
    "Contact": "003",
    "Lead": "00Q",
    "Campaign": "701",
    "CampaignMember": "00v",
    "User": "005",
    "Job": "750",
    "Cursor": "01g",
}


def _checksum(id15: str) -> str:
    # Each 5-char chunk yields one char: bit i set when char i is upper case.
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(_SUFFIX[bits])
    return "".join(out)


def to18(id15: str) -> str:
    return id15 + _checksum(id15)


class IdFactory:
    """Deterministic, thread-safe id sequence per key prefix."""

    def __init__(self, org_char: str = "5") -> None:
        self._org = org_char
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, kind: str) -> str:
        prefix = PREFIXES[kind]
        with self._lock:
            n = next(self._counters.setdefault(prefix, itertools.count(1)))
        body = ""
        while n:
            n, r = divmod(n, 62)
            body = _ALPHABET[r] + body
        return to18(prefix + self._org + "Lw" + body.rjust(9, "0"))
