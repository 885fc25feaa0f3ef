"""The filter language: text -> AST -> Django Q on Run.

    status = 'Running' and tags.quality = 'great' and metrics.acc >= 0.9
    (experiment = 'a' or experiment = 'b') and properties.author != 'bot'
    tags.`worth another look` exists and created > '2026-11-01'
    displayName like '%resnet%' and status in ('Failed', 'Canceled')

`parse(text)` checks everything (syntax, field names, value types, limits)
before any SQL exists and raises `QueryError` with a 0-based position;
`to_q(node)` compiles the tree into one `Q` that needs no annotation, so it
can be combined with other conditions and used inside subqueries;
`apply(queryset, node)` filters a Run queryset; `describe(node)` prints the
canonical text, and `parse(describe(node)) == node` for every parsed tree.
docs/filter-language.md is the user's guide; the choices it promises:

- A comparison matches only runs that have the value: `!=`, `not in` and
  `not like` on a tag, property or metric need the key to be present with
  another value (as in MLflow); on a nullable field (submittedBy,
  parentRunId, started, ended, duration) they need a non-null value.
  `not (...)` is always the exact complement.
- Key-only tags have no value: only `exists` sees them.
- Tags, properties and text fields compare as text; metrics and duration
  as numbers; created/started/ended as UTC times.
- `like`/`ilike`: `%` any run of characters, `_` one character, `\\` escapes
  the next one; `like` is case-sensitive on every database.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Exists as SubqueryExists
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from runs.lifecycle import Status

# Hard limits: anything beyond them is a QueryError (HTTP 400), never a deep
# recursion or a slow query.
MAX_LENGTH = 2000  # characters of filter text
MAX_DEPTH = 20  # nested parentheses and `not`s
MAX_CLAUSES = 50  # conditions (comparisons, `in`, `exists`) in one filter
MAX_IN_ITEMS = 100  # values in one `in (...)` list
MAX_NUMBER = 1e300  # numbers must be finite and within +-MAX_NUMBER
MAX_NUMBER_TEXT = "1e300"
# No run lasts longer than the datetime range (years 1..9999, ~3.2e11 s): a
# duration compared with more than this is decided without SQL, where the
# timedelta would not even fit.
DURATION_BOUND = 1e12

__all__ = [
    "FIELDS",
    "IDENTIFIERS",
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_IN_ITEMS",
    "MAX_LENGTH",
    "MAX_NUMBER",
    "And",
    "Compare",
    "Exists",
    "Field",
    "In",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "apply",
    "depends_on_time",
    "describe",
    "parse",
    "to_q",
]


class QueryError(ValueError):
    """A filter that cannot be parsed; `position` is a 0-based offset into the text."""

    def __init__(self, position: int, message: str):
        super().__init__(f"position {position}: {message}")
        self.position = position
        self.message = message


# --- the tree ------------------------------------------------------------------------

Literal = str | int | float | datetime


@dataclass(frozen=True)
class Field:
    """What a condition looks at; `children` means "some descendant (any depth) matches"."""

    kind: str  # "field" | "tag" | "property" | "metric"
    name: str  # the field's canonical name, or the tag/property key, or the metric name
    children: bool = False


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like ilike "not like" "not ilike"
    value: Literal


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Exists:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | In | Exists | And | Or | Not


# --- identifiers ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    column: str  # the Run lookup path
    type: str  # text | status | time | duration
    # How `exists` reads: "always" (every run has one), "null" (the column
    # `present` is not NULL), "blank" (the text is not empty).
    presence: str
    present: str = ""


FIELDS: dict[str, _Spec] = {
    "status": _Spec("status", "status", "always"),
    "experiment": _Spec("experiment__name", "text", "always"),
    "displayName": _Spec("display_name", "text", "blank"),
    "runId": _Spec("id", "text", "always"),
    "target": _Spec("compute_target", "text", "blank"),
    "submittedBy": _Spec("submitted_by__username", "text", "null", "submitted_by"),
    "created": _Spec("created", "time", "always"),
    "started": _Spec("started", "time", "null", "started"),
    "ended": _Spec("ended", "time", "null", "ended"),
    "duration": _Spec("", "duration", "null", "started"),
    "description": _Spec("description", "text", "blank"),
    "parentRunId": _Spec("parent_id", "text", "null", "parent"),
}
_FIELDS_LOWER = {name.lower(): name for name in FIELDS}
PREFIXES = {"tags": "tag", "properties": "property", "metrics": "metric"}
_PREFIX_OF = {kind: prefix for prefix, kind in PREFIXES.items()}
_KEY_WORDS = {"tag": "a tag key", "property": "a property key", "metric": "a metric name"}
IDENTIFIERS = (
    *FIELDS,
    "tags.<key>",
    "properties.<key>",
    "metrics.<name>",
    "children.<any of these>",
)
KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike", "exists"})
_STATUSES = {s.value.lower(): s.value for s in Status}

_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_TEXT_OPS = frozenset({*_COMPARISONS, "like", "ilike", "not like", "not ilike"})
_OPS_BY_TYPE = {
    "text": _TEXT_OPS,
    "status": frozenset({"=", "!=", "like", "ilike", "not like", "not ilike"}),
    "time": frozenset(_COMPARISONS),
    "duration": frozenset(_COMPARISONS),
    "number": frozenset(_COMPARISONS),
}
_OPS_HELP = {
    "text": "=, !=, <, <=, >, >=, like, ilike, in, exists",
    "status": "=, !=, in, not in, like, ilike, exists",
    "time": "=, !=, <, <=, >, >=, in, exists",
    "duration": "=, !=, <, <=, >, >=, in, exists",
    "number": "=, !=, <, <=, >, >=, in, exists",
}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _value_type(field: Field) -> str:
    if field.kind == "field":
        return FIELDS[field.name].type
    return "number" if field.kind == "metric" else "text"


def _is_key_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-/"


# --- tokenizer -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # path | keyword | string | number | op | eof
    text: str  # the source text
    value: Any  # path: ((segment, quoted), ...); keyword: lower case; string/number: value
    pos: int


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _found(tok: _Token) -> str:
    if tok.kind == "eof":
        return "end of input"
    if tok.kind == "string":
        return f"the string {_shorten(tok.text)}"
    if tok.kind == "number":
        return f"the number {_shorten(tok.text)}"
    return repr(_shorten(tok.text))


def _check_characters(text: str, start: int, end: int) -> None:
    for i in range(start, end):
        ch = text[i]
        # Lone surrogates cannot be encoded for the database; NUL and other
        # control characters are never part of a real key or value.
        if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cs"):
            raise QueryError(i, f"control character U+{ord(ch):04X} is not allowed")


def _tokenize(text: str) -> Iterator[_Token]:
    """Tokens on demand, so errors come in reading order (the parser's first)."""
    i, n = 0, len(text)
    while True:
        start = i
        while i < n and text[i].isspace():
            i += 1
        _check_characters(text, start, min(i + 1, n))
        if i >= n:
            yield _Token("eof", "", None, n)
            return
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if ch in "'\"":
            tok, end = _scan_string(text, i)
        elif _starts_number(text, i):
            tok, end = _scan_number(text, i)
        elif ch.isalpha() or ch == "_":
            tok, end = _scan_path(text, i)
        elif ch + nxt in ("!=", "<>", "<=", ">=", "=="):
            op = {"<>": "!=", "==": "="}.get(ch + nxt, ch + nxt)
            tok, end = _Token("op", ch + nxt, op, i), i + 2
        elif ch in "=<>(),":
            tok, end = _Token("op", ch, ch, i), i + 1
        elif ch == "`":
            raise QueryError(
                i,
                "backticks quote a key after tags., properties. or metrics., "
                "as in tags.`worth another look`",
            )
        else:
            raise QueryError(i, f"unexpected character {ch!r}")
        _check_characters(text, i, end)
        i = end
        yield tok


def _starts_number(text: str, i: int) -> bool:
    def digit(j: int) -> bool:
        return j < len(text) and "0" <= text[j] <= "9"

    ch = text[i]
    if digit(i):
        return True
    if ch == ".":
        return digit(i + 1)
    if ch == "-":
        return digit(i + 1) or (i + 1 < len(text) and text[i + 1] == "." and digit(i + 2))
    return False


def _scan_digits(text: str, i: int) -> int:
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    return i


def _scan_number(text: str, start: int) -> tuple[_Token, int]:
    n = len(text)
    i = start + 1 if text[start] == "-" else start
    int_end = _scan_digits(text, i)
    int_digits = int_end - i
    i = int_end
    is_float = False
    if i < n and text[i] == ".":
        is_float = True
        i = _scan_digits(text, i + 1)
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j >= n or not "0" <= text[j] <= "9":
            raise QueryError(i, f"malformed number {_shorten(text[start : j + 1])!r}")
        is_float = True
        i = _scan_digits(text, j)
    if i < n and (_is_key_char(text[i]) or text[i] in ".`"):
        hint = ""
        if text[i].isalpha():
            hint = " (a duration with a unit goes in quotes, as in '5m')"
        raise QueryError(start, f"malformed number {_shorten(text[start : i + 1])!r}{hint}")
    raw = text[start:i]
    out_of_range = QueryError(
        start,
        f"the number {_shorten(raw)} is out of range: numbers must be finite "
        f"and within ±{MAX_NUMBER_TEXT}",
    )
    if is_float:
        value: int | float = float(raw)
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise out_of_range
    else:
        # 301 digits are already above 1e300; checked before int() reads thousands.
        if int_digits > 301:
            raise out_of_range
        value = int(raw)
        if abs(value) > MAX_NUMBER:
            raise out_of_range
    return _Token("number", raw, value, start), i


def _scan_string(text: str, start: int) -> tuple[_Token, int]:
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while True:
        if i >= n:
            raise QueryError(
                start,
                f"unterminated string: expected a closing {quote} for the string "
                f"that starts here, found end of input",
            )
        ch = text[i]
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            i += 1
            break
        if ch == "\\" and i + 1 < n:
            esc = text[i + 1]
            _check_characters(text, i + 1, i + 2)
            if esc in "\\'\"":
                out.append(esc)
            elif esc in "%_":
                # Kept with its backslash: a literal % or _ in a like pattern.
                out.append("\\" + esc)
            else:
                raise QueryError(
                    i,
                    f"unknown escape '\\{esc}' in a string: the escapes are \\\\ (a backslash), "
                    "\\' and \\\" (quotes), \\% and \\_ (literal % and _ in like patterns)",
                )
            i += 2
            continue
        out.append(ch)
        i += 1
    return _Token("string", text[start:i], "".join(out), start), i


def _scan_path(text: str, start: int) -> tuple[_Token, int]:
    """A name with dotted parts: `status`, `tags.quality`, ``tags.`a b` ``, `children.x.y`."""
    n = len(text)
    i = start
    while i < n and _is_key_char(text[i]):
        i += 1
    segments = [(text[start:i], False)]
    while i < n and text[i] == ".":
        i += 1
        if i < n and text[i] == "`":
            key, i = _scan_backticks(text, i)
            segments.append((key, True))
            continue
        j = i
        while j < n and _is_key_char(text[j]):
            j += 1
        if j == i:
            found = "end of input" if i >= n else repr(text[i])
            raise QueryError(
                i,
                f"expected a name or a `quoted key` after {text[start:i]!r}, found {found}",
            )
        segments.append((text[i:j], False))
        i = j
    raw = text[start:i]
    if len(segments) == 1 and raw.lower() in KEYWORDS:
        return _Token("keyword", raw, raw.lower(), start), i
    return _Token("path", raw, tuple(segments), start), i


def _scan_backticks(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i, n = start + 1, len(text)
    while True:
        if i >= n:
            raise QueryError(
                start, "unterminated key: expected a closing ` for the key that starts here"
            )
        if text[i] == "`":
            if i + 1 < n and text[i + 1] == "`":
                out.append("`")
                i += 2
                continue
            break
        out.append(text[i])
        i += 1
    if not out:
        raise QueryError(start, "empty key: a key between backticks needs at least a character")
    return "".join(out), i + 1


# --- parser --------------------------------------------------------------------------


def parse(text: str) -> Node:
    """The tree of a filter; raises QueryError saying where and what was expected."""
    if not isinstance(text, str):
        raise QueryError(0, "the filter must be text")
    if len(text) > MAX_LENGTH:
        raise QueryError(
            MAX_LENGTH,
            f"the filter is too long: {len(text)} characters, at most {MAX_LENGTH}",
        )
    return _Parser(_tokenize(text)).parse()


class _Parser:
    """Recursive descent; precedence `not` > `and` > `or`."""

    def __init__(self, tokens: Iterator[_Token]):
        self.tokens = tokens
        self.current = next(tokens)
        self.clauses = 0

    def peek(self) -> _Token:
        return self.current

    def advance(self) -> _Token:
        tok = self.current
        if tok.kind != "eof":
            self.current = next(self.tokens)
        return tok

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.value in words

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.value in ops

    def parse(self) -> Node:
        if self.peek().kind == "eof":
            raise QueryError(
                self.peek().pos,
                "the filter is empty: expected a condition such as status = 'Running'",
            )
        node = self.disjunction(0)
        tok = self.peek()
        if tok.kind != "eof":
            if tok.kind == "op" and tok.value == ")":
                raise QueryError(tok.pos, "unexpected ')': there is no '(' for it to close")
            raise QueryError(
                tok.pos, f"expected 'and', 'or' or the end of the filter, found {_found(tok)}"
            )
        return node

    def disjunction(self, depth: int) -> Node:
        items = [self.conjunction(depth)]
        while self.at_keyword("or"):
            self.advance()
            items.append(self.conjunction(depth))
        return _join(Or, items)

    def conjunction(self, depth: int) -> Node:
        items = [self.unary(depth)]
        while self.at_keyword("and"):
            self.advance()
            items.append(self.unary(depth))
        return _join(And, items)

    def nest(self, depth: int, tok: _Token) -> int:
        if depth + 1 > MAX_DEPTH:
            raise QueryError(
                tok.pos,
                f"the filter nests too deeply: at most {MAX_DEPTH} levels of parentheses and 'not'",
            )
        return depth + 1

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if self.at_keyword("not"):
            self.advance()
            return Not(self.unary(self.nest(depth, tok)))
        if self.at_op("("):
            self.advance()
            node = self.disjunction(self.nest(depth, tok))
            close = self.peek()
            if not self.at_op(")"):
                raise QueryError(
                    close.pos,
                    f"expected 'and', 'or' or ')' to close the '(' at position {tok.pos}, "
                    f"found {_found(close)}",
                )
            self.advance()
            return node
        if tok.kind == "path":
            return self.condition()
        raise QueryError(
            tok.pos,
            "expected a condition (a field such as status or tags.<key>), '(' or 'not', "
            f"found {_found(tok)}",
        )

    def condition(self) -> Node:
        name_tok = self.advance()
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryError(
                name_tok.pos, f"too many conditions: at most {MAX_CLAUSES} in one filter"
            )
        field = _resolve_field(name_tok)
        vtype = _value_type(field)
        tok = self.peek()
        negated = False
        if self.at_keyword("not"):
            self.advance()
            tok = self.peek()
            if not self.at_keyword("like", "ilike", "in", "exists"):
                raise QueryError(
                    tok.pos,
                    f"expected 'like', 'ilike', 'in' or 'exists' after 'not', found {_found(tok)}",
                )
            negated = True
        if tok.kind == "op" and tok.value in _COMPARISONS and not negated:
            self.advance()
            self.check_op(field, vtype, tok.value, tok)
            return Compare(field, tok.value, self.value(field, vtype, tok.text))
        if self.at_keyword("like", "ilike"):
            self.advance()
            op = f"not {tok.value}" if negated else tok.value
            self.check_op(field, vtype, op, tok)
            return Compare(field, op, self.value(field, vtype, tok.text, pattern=True))
        if self.at_keyword("in"):
            self.advance()
            return In(field, self.value_list(field, vtype, tok), negated)
        if self.at_keyword("exists"):
            self.advance()
            return Exists(field, negated)
        raise QueryError(
            tok.pos,
            f"expected an operator after {_shorten(name_tok.text)!r} "
            f"({_OPS_HELP[vtype]}), found {_found(tok)}",
        )

    def check_op(self, field: Field, vtype: str, op: str, tok: _Token) -> None:
        if op not in _OPS_BY_TYPE[vtype]:
            raise QueryError(
                tok.pos,
                f"{op!r} does not apply to {_describe_field(field)}: it takes {_OPS_HELP[vtype]}",
            )

    def value_list(self, field: Field, vtype: str, in_tok: _Token) -> tuple[Literal, ...]:
        tok = self.peek()
        if not self.at_op("("):
            raise QueryError(
                tok.pos, f"expected '(' to start the list after 'in', found {_found(tok)}"
            )
        self.advance()
        values = [self.value(field, vtype, "(")]
        while True:
            tok = self.peek()
            if self.at_op(")"):
                self.advance()
                return tuple(values)
            if not self.at_op(","):
                raise QueryError(
                    tok.pos, f"expected ',' or ')' in the list after 'in', found {_found(tok)}"
                )
            self.advance()
            if len(values) >= MAX_IN_ITEMS:
                raise QueryError(
                    self.peek().pos, f"too many values in the list: at most {MAX_IN_ITEMS}"
                )
            values.append(self.value(field, vtype, ","))

    def value(self, field: Field, vtype: str, after: str, *, pattern: bool = False) -> Literal:
        tok = self.advance()
        if tok.kind not in ("string", "number"):
            hint = ""
            if tok.kind == "path" and tok.text.lower() in ("null", "none"):
                hint = " (use 'exists' or 'not exists' to test whether a value is there)"
            raise QueryError(
                tok.pos, f"expected a value after {after!r}, found {_found(tok)}{hint}"
            )
        name = _describe_field(field)
        if pattern or vtype in ("text", "status"):
            if tok.kind != "string":
                raise QueryError(
                    tok.pos,
                    f"expected a string in quotes after {after!r}, found {_found(tok)}: "
                    f"{name} is text, so write '{tok.text}'",
                )
            if pattern or vtype == "text":
                return tok.value
            status = _STATUSES.get(tok.value.lower())
            if status is None:
                close = difflib.get_close_matches(tok.value, list(Status.values), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise QueryError(
                    tok.pos,
                    f"unknown status {_shorten(tok.text)}{hint}: expected one of "
                    + ", ".join(Status.values),
                )
            return status
        if vtype == "number":
            if tok.kind == "string" and field.kind == "metric":
                # A text series (run.log("message", "Hello")): equality only.
                if after not in ("=", "!=", "(", ","):
                    raise QueryError(
                        tok.pos,
                        f"{name} {after} {_found(tok)}: a metric compares with text only "
                        "with =, != and in",
                    )
                return tok.value
            if tok.kind != "number":
                raise QueryError(
                    tok.pos,
                    f"expected a number after {after!r}, found {_found(tok)}: "
                    f"{name} is a number, so write it without quotes",
                )
            return tok.value
        if vtype == "time":
            if tok.kind != "string":
                raise QueryError(
                    tok.pos,
                    f"expected a date in quotes such as '2026-11-01' after {after!r}, "
                    f"found {_found(tok)}",
                )
            return _parse_time(tok)
        return _parse_duration(tok)


def _join(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def _resolve_field(tok: _Token) -> Field:
    segments: list[tuple[str, bool]] = list(tok.value)
    children = False
    head = segments[0][0].lower()
    if head == "children":
        if len(segments) == 1:
            raise QueryError(
                tok.pos,
                "children needs a field after it, as in children.status or children.tags.<key>",
            )
        children = True
        segments = segments[1:]
        if segments[0][1]:
            raise QueryError(tok.pos, "only keys after tags., properties. or metrics. are quoted")
        head = segments[0][0].lower()
        if head == "children":
            raise QueryError(
                tok.pos, "children.children is not needed: children. already means any descendant"
            )
    if head in PREFIXES:
        kind = PREFIXES[head]
        if len(segments) == 1:
            raise QueryError(
                tok.pos + len(tok.text),
                f"expected {_KEY_WORDS[kind]} after '{head}.', as in {head}.quality",
            )
        if len(segments) > 2:
            raise QueryError(
                tok.pos,
                f"{_KEY_WORDS[kind]} containing '.' goes in backticks, as in "
                f"{head}.`{'.'.join(s for s, _ in segments[1:])}`",
            )
        return Field(kind, segments[1][0], children)
    name = _FIELDS_LOWER.get(head)
    if name is None or len(segments) > 1:
        close = difflib.get_close_matches(head, [*FIELDS, *PREFIXES, "children"], n=1)
        hint = ""
        if close:
            rest = tok.text.split(".", 1)[1] if "." in tok.text else ""
            hint = f" (did you mean {close[0] + ('.' + rest if rest else '')!r}?)"
        what = f"unknown field {_shorten(tok.text)!r}{hint}"
        if name is not None:
            what = f"{name} has no parts: {_shorten(tok.text)!r} is not a field"
        raise QueryError(tok.pos, f"{what}: expected one of {', '.join(IDENTIFIERS)}")
    return Field("field", name, children)


def _parse_time(tok: _Token) -> datetime:
    try:
        value = datetime.fromisoformat(tok.value.strip())
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError(
            tok.pos,
            f"expected a date such as '2026-11-01' or '2026-11-01T14:30:00Z', found {_found(tok)}",
        ) from None


def _parse_duration(tok: _Token) -> float:
    if tok.kind == "number":
        return float(tok.value)
    text = tok.value.strip()
    bad = QueryError(
        tok.pos,
        "expected a duration: seconds as a number, or a string such as '90s', '5m', "
        f"'2h', '1d' or '1h30m', found {_found(tok)}",
    )
    if not text:
        raise bad
    total, i, n = 0.0, 0, len(text)
    while i < n:
        j = i
        while j < n and (text[j] in "0123456789."):
            j += 1
        number = text[i:j]
        k = j
        while k < n and text[k].isalpha():
            k += 1
        unit = text[j:k].lower() or ("s" if k == n else "")
        try:
            amount = float(number)
        except ValueError:
            raise bad from None
        if unit not in _DURATION_UNITS or (not number.strip(".")):
            raise bad
        total += amount * _DURATION_UNITS[unit]
        i = k
        while i < n and text[i] == " ":
            i += 1
    if not math.isfinite(total) or total > MAX_NUMBER:
        raise QueryError(tok.pos, f"the duration {_found(tok)} is out of range")
    return total


# --- describe ------------------------------------------------------------------------


def describe(node: Node) -> str:
    """The canonical text of a tree: parse(describe(node)) == node."""
    if isinstance(node, Or):
        return " or ".join(_group(item, Or) for item in node.items)
    if isinstance(node, And):
        return " and ".join(_group(item, (And, Or)) for item in node.items)
    if isinstance(node, Not):
        return "not " + _group(node.item, (And, Or))
    if isinstance(node, Compare):
        return f"{_describe_field(node.field)} {node.op} {_literal(node.field, node.value)}"
    if isinstance(node, In):
        values = ", ".join(_literal(node.field, v) for v in node.values)
        return f"{_describe_field(node.field)} {'not in' if node.negated else 'in'} ({values})"
    if isinstance(node, Exists):
        return f"{_describe_field(node.field)} {'not exists' if node.negated else 'exists'}"
    raise TypeError(f"not a filter node: {node!r}")


def _group(node: Node, kinds: type | tuple[type, ...]) -> str:
    text = describe(node)
    return f"({text})" if isinstance(node, kinds) else text


def _describe_field(field: Field) -> str:
    if field.kind == "field":
        text = field.name
    else:
        key = field.name
        if not key or not all(_is_key_char(c) for c in key):
            key = "`" + key.replace("`", "``") + "`"
        text = f"{_PREFIX_OF[field.kind]}.{key}"
    return f"children.{text}" if field.children else text


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(field: Field, value: Literal) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        if value.time() == datetime.min.time():
            return _quote(value.date().isoformat())
        return _quote(value.isoformat().replace("+00:00", "Z"))
    if isinstance(value, str):
        return _quote(value)
    if _value_type(field) == "duration":
        return _duration_text(float(value))
    return repr(value)


def _duration_text(seconds: float) -> str:
    if seconds.is_integer() and 0 < seconds < 1e15:
        whole = int(seconds)
        for unit in ("w", "d", "h", "m"):
            size = _DURATION_UNITS[unit]
            if whole % size == 0:
                return f"'{whole // size}{unit}'"
        return f"'{whole}s'"
    return repr(seconds)


# --- compiling to Q ------------------------------------------------------------------

_SUFFIX = {"=": "", "<": "__lt", "<=": "__lte", ">": "__gt", ">=": "__gte"}
_LOOKUPS: dict[str, Callable[..., Lookup]] = {
    "=": Exact,
    "<": LessThan,
    "<=": LessThanOrEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
}


def apply(queryset: QuerySet, node: Node) -> QuerySet:
    """`queryset` (of Run) narrowed to the runs that match `node`."""
    return queryset.filter(to_q(node))


def depends_on_time(node: Node) -> bool:
    """Whether to_q(node) changes with the time (`duration` compares with now)."""
    if isinstance(node, And | Or):
        return any(depends_on_time(item) for item in node.items)
    if isinstance(node, Not):
        return depends_on_time(node.item)
    return node.field.kind == "field" and node.field.name == "duration"


def to_q(node: Node, *, now: datetime | None = None) -> Q:
    """One Q on Run for the whole tree; needs no annotation (usable in subqueries).

    Tags, properties, metrics and descendants are EXISTS subqueries rather
    than joins, so rows never repeat and `or`/`not` mean what they say.
    `now` is the end of the runs still going, for `duration`.
    """
    now = now or timezone.now()
    if isinstance(node, And):
        return reduce(lambda a, b: a & b, (to_q(item, now=now) for item in node.items))
    if isinstance(node, Or):
        return reduce(lambda a, b: a | b, (to_q(item, now=now) for item in node.items))
    if isinstance(node, Not):
        return ~to_q(node.item, now=now)
    if not isinstance(node, Compare | In | Exists):
        raise TypeError(f"not a filter node: {node!r}")
    q = _leaf_q(node, now)
    if node.field.children:
        from runs.models import Run

        # Descendants share the root and extend the id with `_<n>`; the
        # expression pattern is escaped by Django, so `_`/`%` in ids are literal.
        below = Run.objects.filter(
            root_id=OuterRef("root_id"), id__startswith=Concat(OuterRef("id"), Value("_"))
        )
        q = Q(SubqueryExists(below.filter(_tested_only(q))))
    return q


def _tested_only(q: Q) -> Q:
    """`q` as a CASE: tested on the rows found by the other conditions (a tree's
    runs, by root), never used by SQLite to pick an index of its own instead. With
    a status index, SQLite would otherwise step through every Failed run of the
    database for each run tested."""
    hit = Case(When(q, then=Value(True)), default=Value(False))
    return Q(ExpressionWrapper(hit, output_field=BooleanField()))


def _leaf_q(node: Compare | In | Exists, now: datetime) -> Q:
    from runs.models import LatestMetric, Property, Tag

    field = node.field
    if field.kind == "field":
        return _field_q(node, FIELDS[field.name], now)
    if field.kind == "metric":
        rows = LatestMetric.objects.filter(run=OuterRef("pk"), name=field.name)
        nullable = True
    else:
        rows = (Tag if field.kind == "tag" else Property).objects.filter(
            run=OuterRef("pk"), key=field.name
        )
        nullable = field.kind == "tag"
    if isinstance(node, Exists):
        q = Q(SubqueryExists(rows))
        return ~q if node.negated else q
    if field.kind == "metric":
        return _metric_q(rows, node)
    return Q(SubqueryExists(rows.filter(_column_q("value", node, nullable=nullable))))


def _metric_q(rows: QuerySet, node: Compare | In) -> Q:
    """Numbers compare with the latest value, text with a text series' latest text."""
    if isinstance(node, Compare):
        column = "text" if isinstance(node.value, str) else "value"
        value = node.value if column == "text" else float(node.value)
        cond = _column_q(column, Compare(node.field, node.op, value), nullable=True)
        return Q(SubqueryExists(rows.filter(cond)))
    texts = tuple(v for v in node.values if isinstance(v, str))
    numbers = tuple(float(v) for v in node.values if not isinstance(v, str))
    hit = Q(pk__in=[])
    if texts:
        hit |= Q(text__in=texts)
    if numbers:
        hit |= Q(value__in=numbers)
    if node.negated:
        # The latest value is there, of a kind the list has, and is none of these.
        present = Q(pk__in=[])
        if texts:
            present |= Q(text__isnull=False)
        if numbers:
            present |= Q(value__isnull=False)
        cond = present & ~hit
    else:
        cond = hit
    return Q(SubqueryExists(rows.filter(cond)))


def _column_q(column: str, node: Compare | In, *, nullable: bool) -> Q:
    """The condition on one column; negative forms need a value (NULL never matches)."""
    if isinstance(node, In):
        q = Q(**{f"{column}__in": node.values})
        negated = node.negated
    else:
        op = node.op
        negated = op == "!=" or op.startswith("not ")
        op = {"!=": "="}.get(op, op.removeprefix("not "))
        if op in ("like", "ilike"):
            q = Q(_like(op)(F(column), node.value))
        else:
            q = Q(**{f"{column}{_SUFFIX[op]}": node.value})
    if negated:
        q = ~q
    elif not (nullable and isinstance(node, Compare) and node.op.endswith("like")):
        return q
    # A NULL never matches, and `not (...)` of this must match it: SQL's
    # NOT (NULL LIKE ...) is NULL, so the NULL test has to be explicit.
    return Q(**{f"{column}__isnull": False}) & q if nullable else q


def _field_q(node: Compare | In | Exists, spec: _Spec, now: datetime) -> Q:
    if isinstance(node, Exists):
        if spec.presence == "always":
            q = Q(pk__isnull=False)
        elif spec.presence == "null":
            q = Q(**{f"{spec.present}__isnull": False})
        else:
            q = ~Q(**{spec.column: ""})
        return ~q if node.negated else q
    if spec.type == "duration":
        return _duration_q(node, now)
    return _column_q(spec.column, node, nullable=spec.presence == "null")


def _duration_q(node: Compare | In, now: datetime) -> Q:
    started = Q(started__isnull=False)
    if isinstance(node, In):
        hit = reduce(lambda a, b: a | b, (_duration_cmp("=", float(v), now) for v in node.values))
        return started & ~hit if node.negated else hit
    if node.op == "!=":
        return started & ~_duration_cmp("=", float(node.value), now)
    return _duration_cmp(node.op, float(node.value), now)


def _duration_cmp(op: str, seconds: float, now: datetime) -> Q:
    if seconds > DURATION_BOUND:
        return Q(started__isnull=False) if op in ("<", "<=") else Q(pk__in=[])
    if seconds < -DURATION_BOUND:
        return Q(started__isnull=False) if op in (">", ">=") else Q(pk__in=[])
    # Explicitly started, so that `not duration > x` matches the runs not started.
    return Q(started__isnull=False) & Q(_LOOKUPS[op](RunSeconds(now), seconds))


class RunSeconds(Func):
    """How long a run ran, in seconds: (ended, or `now` while it runs) - started; NULL
    before it starts, so no comparison matches it.

    On SQLite by its own julianday(), which reads times to the millisecond (so the
    seconds are rounded to it): Django's duration arithmetic there calls a Python
    function on every row (a filter `duration > '30m'` on 20,000 runs: 47 ms).
    """

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, now: datetime):
        end = Coalesce(F("ended"), Value(now, output_field=DateTimeField()))
        super().__init__(end, F("started"))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400000.0) / 1000.0",
            arg_joiner=") - julianday(",
            **extra,
        )


# --- like and ilike ------------------------------------------------------------------

_ANY, _ONE = object(), object()


def _like_parts(pattern: str) -> list[object]:
    """`%` -> _ANY, `_` -> _ONE, `\\x` -> literal x, anything else literal."""
    parts: list[object] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            parts.append(pattern[i + 1])
            i += 2
            continue
        if ch == "%":
            if not parts or parts[-1] is not _ANY:
                parts.append(_ANY)
        else:
            parts.append(_ONE if ch == "_" else ch)
        i += 1
    return parts


def like_sql_pattern(pattern: str) -> str:
    """The pattern for SQL LIKE ... ESCAPE '\\' (literal %, _ and \\ escaped)."""
    out = []
    for part in _like_parts(pattern):
        if part is _ANY:
            out.append("%")
        elif part is _ONE:
            out.append("_")
        else:
            out.append("\\" + part if part in "%_\\" else part)  # type: ignore[operator]
    return "".join(out)


def like_regex(pattern: str, *, insensitive: bool) -> str:
    """A Python regex matching what the LIKE pattern matches, in linear time.

    Each fixed-width piece between two `%` is found at its leftmost place in an
    atomic group: the greedy glob algorithm, which is correct for LIKE and
    never backtracks into earlier pieces (`%a%a%a%...b` stays fast).
    """
    pieces: list[list[object]] = [[]]
    for part in _like_parts(pattern):
        if part is _ANY:
            pieces.append([])
        else:
            pieces[-1].append(part)

    def piece(parts: list[object]) -> str:
        return "".join("." if p is _ONE else re.escape(p) for p in parts)  # type: ignore[arg-type]

    flags = "(?si)" if insensitive else "(?s)"
    if len(pieces) == 1:
        return rf"{flags}\A{piece(pieces[0])}\Z"
    middle = "".join(f"(?>.*?{piece(p)})" for p in pieces[1:-1])
    return rf"{flags}\A{piece(pieces[0])}{middle}.*{piece(pieces[-1])}\Z"


class _Like(Lookup):
    """`lhs LIKE pattern`, case-sensitive on every database.

    SQLite's LIKE ignores ASCII case and GLOB has no escape character, so
    SQLite uses Django's REGEXP function with a regex that cannot backtrack
    badly; PostgreSQL uses LIKE/ILIKE itself.
    """

    lookup_name = "filter_like"
    prepare_rhs = False
    insensitive = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        pattern = like_sql_pattern(self.rhs)
        if self.insensitive:
            return f"UPPER({lhs}) LIKE UPPER(%s) ESCAPE '\\'", [*lhs_params, pattern]
        return f"{lhs} LIKE %s ESCAPE '\\'", [*lhs_params, pattern]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        op = "ILIKE" if self.insensitive else "LIKE"
        # Backslash is PostgreSQL's default LIKE escape (as in Django's own lookups).
        return f"{lhs} {op} %s", [*lhs_params, like_sql_pattern(self.rhs)]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        regex = like_regex(self.rhs, insensitive=self.insensitive)
        return f"{lhs} REGEXP %s", [*lhs_params, regex]


class _ILike(_Like):
    lookup_name = "filter_ilike"
    insensitive = True


def _like(op: str) -> type[_Like]:
    return _ILike if op == "ilike" else _Like
