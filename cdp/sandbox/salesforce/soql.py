"""A parser and evaluator for the SOQL subset the product emits.

    SELECT f1, f2 FROM Contact|Lead|... [WHERE f op literal [AND ...]]
        [ORDER BY f [ASC|DESC] [, ...]] [LIMIT n]

Operators: = != <> < <= > >= IN (...). Literals: 'strings' (backslash escapes), numbers,
true/false/null, dateTime (2024-01-31T10:00:00Z, +hh:mm offsets, optional .fff) and dates.
Errors carry Salesforce's codes: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cdp.sandbox.salesforce.records import parse_datetime
from cdp.sandbox.salesforce.schema import SObject

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\]|\\.)*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|>=|<=|=|<|>)
    | (?P<punct>[,()])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class SoqlError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Condition:
    field: str
    op: str
    value: Any


@dataclass
class Query:
    fields: list[str]
    sobject: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SoqlError(
                "MALFORMED_QUERY", f"unexpected token: '{text[pos : pos + 10].strip()}'"
            )
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "ident" and tok[1].upper() in words:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.keyword(word):
            got = self.peek()
            raise SoqlError(
                "MALFORMED_QUERY", f"expecting '{word}', found '{got[1] if got else 'EOF'}'"
            )

    def ident(self) -> str:
        tok = self.peek()
        if not tok or tok[0] != "ident":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{tok[1] if tok else 'EOF'}'")
        self.i += 1
        return tok[1]

    def punct(self, ch: str) -> bool:
        tok = self.peek()
        if tok and tok == ("punct", ch):
            self.i += 1
            return True
        return False

    def literal(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.i += 1
        kind, text = tok
        if kind == "str":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
        if kind == "dt":
            return parse_datetime(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "ident" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'")

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields = [self.ident()]
        while self.punct(","):
            fields.append(self.ident())
        self.expect_kw("FROM")
        query = Query(fields, self.ident())
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while self.keyword("AND"):
                query.where.append(self.condition())
        if self.keyword("ORDER"):
            self.expect_kw("BY")
            while True:
                name = self.ident()
                desc = self.keyword("DESC")
                if not desc:
                    self.keyword("ASC")
                query.order_by.append((name, desc))
                if not self.punct(","):
                    break
        if self.keyword("LIMIT"):
            value = self.literal()
            if not isinstance(value, int):
                raise SoqlError("MALFORMED_QUERY", "LIMIT must be an integer")
            query.limit = value
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek()[1]}'")  # type: ignore[index]
        return query

    def condition(self) -> Condition:
        name = self.ident()
        if self.keyword("IN"):
            if not self.punct("("):
                raise SoqlError("MALFORMED_QUERY", "expecting '(' after IN")
            values = [self.literal()]
            while self.punct(","):
                values.append(self.literal())
            if not self.punct(")"):
                raise SoqlError("MALFORMED_QUERY", "expecting ')'")
            return Condition(name, "IN", values)
        tok = self.peek()
        if not tok or tok[0] != "op":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{tok[1] if tok else 'EOF'}'")
        self.i += 1
        return Condition(name, "!=" if tok[1] == "<>" else tok[1], self.literal())


def parse(text: str) -> Query:
    return _Parser(text).parse()


def _no_column(name: str, sobject: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names.",
    )


def bind(query: Query, schema: dict[str, SObject]) -> SObject:
    """Resolve names against the org's schema and type-check the filter literals."""
    sobject = next((s for n, s in schema.items() if n.lower() == query.sobject.lower()), None)
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name.",
        )
    for names in (query.fields, [c.field for c in query.where], [f for f, _ in query.order_by]):
        for i, name in enumerate(names):
            f = sobject.field(name)
            if f is None:
                raise _no_column(name, sobject.name)
            names[i] = f.name
    for cond in query.where:
        f = sobject.field(cond.field)
        assert f is not None
        for value in cond.value if cond.op == "IN" else [cond.value]:
            if value is None:
                continue
            if f.type == "datetime" and not isinstance(value, datetime):
                raise SoqlError(
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{f.name}' must be of type dateTime and should not be enclosed in quotes",
                )
            if f.type in ("string", "email", "picklist", "id", "reference") and not isinstance(
                value, str
            ):
                raise SoqlError(
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{f.name}' must be of type string and should be enclosed in quotes",
                )
    return sobject


def _matches(rec: dict[str, Any], cond: Condition) -> bool:
    have = rec.get(cond.field)
    want = cond.value
    if cond.op == "IN":
        return have in want
    if cond.op == "=":
        return bool(have == want)
    if cond.op == "!=":
        return bool(have != want)
    if have is None or want is None:
        return False
    return bool(
        {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[cond.op]
    )


def run(query: Query, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [r for r in records if all(_matches(r, c) for c in query.where)]
    for name, desc in reversed(query.order_by):  # stable multi-key sort, nulls first
        present = [r for r in rows if r.get(name) is not None]
        present.sort(key=lambda r: r[name], reverse=desc)
        nulls = [r for r in rows if r.get(name) is None]
        rows = present + nulls if desc else nulls + present
    if query.limit is not None:
        rows = rows[: query.limit]
    return [{name: r.get(name) for name in query.fields} for r in rows]
