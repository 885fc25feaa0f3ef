"""The filter language: grammar, canonical text, hostile input, and matching real rows."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from runs import query
from runs.models import LatestMetric, Run
from runs.query import And, Compare, Exists, Field, In, Not, Or, QueryError
from runs.status import Status
from tests.factories import (
    ExperimentFactory,
    PropertyFactory,
    RunFactory,
    TagFactory,
    UserFactory,
)

STATUS = Field("field", "status")
EXPERIMENT = Field("field", "experiment")
NAME = Field("field", "displayName")
DURATION = Field("field", "duration")
CREATED = Field("field", "created")


def tag(key: str, children: bool = False) -> Field:
    return Field("tag", key, children)


def prop(key: str) -> Field:
    return Field("property", key)


def metric(name: str, children: bool = False) -> Field:
    return Field("metric", name, children)


RUNNING = Compare(STATUS, "=", "Running")

# --- grammar -------------------------------------------------------------------------

GRAMMAR = [
    # the design's examples
    (
        "status = 'Running' and tags.quality = 'great' and metrics.acc >= 0.9",
        And((RUNNING, Compare(tag("quality"), "=", "great"), Compare(metric("acc"), ">=", 0.9))),
    ),
    (
        "(experiment = 'a' or experiment = 'b') and properties.author != 'bot'",
        And(
            (
                Or((Compare(EXPERIMENT, "=", "a"), Compare(EXPERIMENT, "=", "b"))),
                Compare(prop("author"), "!=", "bot"),
            )
        ),
    ),
    (
        "tags.`worth another look` exists and created > '2026-11-01'",
        And(
            (
                Exists(tag("worth another look")),
                Compare(CREATED, ">", datetime(2026, 11, 1, tzinfo=UTC)),
            )
        ),
    ),
    ("displayName like '%resnet%'", Compare(NAME, "like", "%resnet%")),
    ("status in ('Failed', 'Canceled')", In(STATUS, ("Failed", "Canceled"))),
    # every operator
    ("metrics.acc = 1", Compare(metric("acc"), "=", 1)),
    ("metrics.acc == 1", Compare(metric("acc"), "=", 1)),
    ("metrics.acc != 1", Compare(metric("acc"), "!=", 1)),
    ("metrics.acc <> 1", Compare(metric("acc"), "!=", 1)),
    ("metrics.acc < 1", Compare(metric("acc"), "<", 1)),
    ("metrics.acc <= 1", Compare(metric("acc"), "<=", 1)),
    ("metrics.acc > 1", Compare(metric("acc"), ">", 1)),
    ("metrics.acc >= 1", Compare(metric("acc"), ">=", 1)),
    ("metrics.acc>=1", Compare(metric("acc"), ">=", 1)),
    ("displayName ilike 'R%'", Compare(NAME, "ilike", "R%")),
    ("displayName not like 'R%'", Compare(NAME, "not like", "R%")),
    ("displayName not ilike 'R%'", Compare(NAME, "not ilike", "R%")),
    ("status not in ('Failed')", In(STATUS, ("Failed",), negated=True)),
    ("metrics.acc in (1, 2.5, -3)", In(metric("acc"), (1, 2.5, -3))),
    ("tags.a exists", Exists(tag("a"))),
    ("tags.a not exists", Exists(tag("a"), negated=True)),
    ("not tags.a exists", Not(Exists(tag("a")))),
    # every identifier
    ("status = 'Queued'", Compare(STATUS, "=", "Queued")),
    ("experiment = 'e'", Compare(EXPERIMENT, "=", "e")),
    ("displayName = 'n'", Compare(NAME, "=", "n")),
    ("runId = 'r'", Compare(Field("field", "runId"), "=", "r")),
    ("target = 'gpu'", Compare(Field("field", "target"), "=", "gpu")),
    ("submittedBy = 'ann'", Compare(Field("field", "submittedBy"), "=", "ann")),
    (
        "started >= '2026-01-02'",
        Compare(Field("field", "started"), ">=", datetime(2026, 1, 2, tzinfo=UTC)),
    ),
    (
        "ended < '2026-01-02 03:04:05'",
        Compare(Field("field", "ended"), "<", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ),
    ("duration > 90", Compare(DURATION, ">", 90.0)),
    ("description like '%x%'", Compare(Field("field", "description"), "like", "%x%")),
    ("parentRunId = 'p'", Compare(Field("field", "parentRunId"), "=", "p")),
    ("tags.k = 'v'", Compare(tag("k"), "=", "v")),
    ("properties.k = 'v'", Compare(prop("k"), "=", "v")),
    ("metrics.loss < 0.5", Compare(metric("loss"), "<", 0.5)),
    ("metrics.train/loss < 0.5", Compare(metric("train/loss"), "<", 0.5)),
    ("tags.my-key_2 exists", Exists(tag("my-key_2"))),
    ("tags.1 exists", Exists(tag("1"))),
    ("children.status = 'Failed'", Compare(Field("field", "status", True), "=", "Failed")),
    ("children.tags.k exists", Exists(tag("k", children=True))),
    ("children.metrics.`a.b` > 0", Compare(metric("a.b", children=True), ">", 0)),
    ("children.tags.k not exists", Exists(tag("k", children=True), negated=True)),
    # precedence: not > and > or
    (
        "status = 'Running' or tags.a exists and tags.b exists",
        Or((RUNNING, And((Exists(tag("a")), Exists(tag("b")))))),
    ),
    (
        "tags.a exists and tags.b exists or status = 'Running'",
        Or((And((Exists(tag("a")), Exists(tag("b")))), RUNNING)),
    ),
    ("not tags.a exists and tags.b exists", And((Not(Exists(tag("a"))), Exists(tag("b"))))),
    ("not (tags.a exists and tags.b exists)", Not(And((Exists(tag("a")), Exists(tag("b")))))),
    ("not not tags.a exists", Not(Not(Exists(tag("a"))))),
    (
        "(tags.a exists or tags.b exists) and tags.c exists",
        And((Or((Exists(tag("a")), Exists(tag("b")))), Exists(tag("c")))),
    ),
    (
        "(tags.a exists or tags.b exists) or tags.c exists",
        Or((Exists(tag("a")), Exists(tag("b")), Exists(tag("c")))),
    ),
    ("((((tags.a exists))))", Exists(tag("a"))),
    ("not(tags.a exists)", Not(Exists(tag("a")))),
    # backticks
    ("tags.`a b` = 'x'", Compare(tag("a b"), "=", "x")),
    ("tags.`a.b.c` exists", Exists(tag("a.b.c"))),
    ("tags.`tick``tock` exists", Exists(tag("tick`tock"))),
    ("tags.`and` exists", Exists(tag("and"))),
    ("tags.and exists", Exists(tag("and"))),
    ("properties.`=' or 1=1` exists", Exists(prop("=' or 1=1"))),
    # strings and escapes
    ('tags.k = "double"', Compare(tag("k"), "=", "double")),
    ("tags.k = 'it\\'s'", Compare(tag("k"), "=", "it's")),
    ("tags.k = 'it''s'", Compare(tag("k"), "=", "it's")),
    ('tags.k = "say \\"hi\\""', Compare(tag("k"), "=", 'say "hi"')),
    ('tags.k = "say ""hi"""', Compare(tag("k"), "=", 'say "hi"')),
    ('tags.k = "it\'s"', Compare(tag("k"), "=", "it's")),
    ("tags.k = 'back\\\\slash'", Compare(tag("k"), "=", "back\\slash")),
    ("tags.k = '100\\%'", Compare(tag("k"), "=", "100\\%")),
    ("tags.k = 'a\\_b'", Compare(tag("k"), "=", "a\\_b")),
    ("tags.k = ''", Compare(tag("k"), "=", "")),
    ("tags.k = 'line\nbreak\ttab'", Compare(tag("k"), "=", "line\nbreak\ttab")),
    # keywords, field names, prefixes and statuses ignore case
    (
        "STATUS = 'running' AND Tags.a EXISTS OR NOT metrics.x IN (1)",
        Or((And((RUNNING, Exists(tag("a")))), Not(In(metric("x"), (1,))))),
    ),
    (
        "DisplayName ILIKE 'x' And displayname Not Like 'y'",
        And((Compare(NAME, "ilike", "x"), Compare(NAME, "not like", "y"))),
    ),
    ("status = 'cancelrequested'", Compare(STATUS, "=", "CancelRequested")),
    ("CHILDREN.Properties.K exists", Exists(Field("property", "K", True))),
    # numbers
    ("metrics.m = 0", Compare(metric("m"), "=", 0)),
    ("metrics.m = -7", Compare(metric("m"), "=", -7)),
    ("metrics.m = 3.25", Compare(metric("m"), "=", 3.25)),
    ("metrics.m = .5", Compare(metric("m"), "=", 0.5)),
    ("metrics.m = -.5", Compare(metric("m"), "=", -0.5)),
    ("metrics.m = 5.", Compare(metric("m"), "=", 5.0)),
    ("metrics.m = 1e3", Compare(metric("m"), "=", 1000.0)),
    ("metrics.m = 1E+3", Compare(metric("m"), "=", 1000.0)),
    ("metrics.m = 2.5e-3", Compare(metric("m"), "=", 0.0025)),
    ("metrics.m = -1e300", Compare(metric("m"), "=", -1e300)),
    ("metrics.m = 1" + "0" * 299, Compare(metric("m"), "=", 10**299)),
    # times: date-only is midnight UTC, offsets become UTC
    (
        "created = '2026-11-01T14:30:00Z'",
        Compare(CREATED, "=", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
    ),
    (
        "created = '2026-11-01T14:30:00+02:00'",
        Compare(CREATED, "=", datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),
    ),
    (
        "created = '2026-11-01T14:30'",
        Compare(CREATED, "=", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
    ),
    (
        "created in ('2026-01-01', '2026-01-02')",
        In(CREATED, (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))),
    ),
    # durations: seconds, or strings with units
    ("duration > 1.5", Compare(DURATION, ">", 1.5)),
    ("duration > '90s'", Compare(DURATION, ">", 90.0)),
    ("duration > '90'", Compare(DURATION, ">", 90.0)),
    ("duration > '5m'", Compare(DURATION, ">", 300.0)),
    ("duration > '2h'", Compare(DURATION, ">", 7200.0)),
    ("duration > '1d'", Compare(DURATION, ">", 86400.0)),
    ("duration > '1w'", Compare(DURATION, ">", 604800.0)),
    ("duration > '1h30m'", Compare(DURATION, ">", 5400.0)),
    ("duration > '1h 30m'", Compare(DURATION, ">", 5400.0)),
    ("duration > '1.5H'", Compare(DURATION, ">", 5400.0)),
    ("duration in (60, '2m')", In(DURATION, (60.0, 120.0))),
    # whitespace and unicode
    ("  \t\nstatus\n=\n'Running'  ", RUNNING),
    ("status\u00a0=\u2003'Running'", RUNNING),
    ("tags.qualité = 'très bien ✓'", Compare(tag("qualité"), "=", "très bien ✓")),
    ("tags.`日本 語` = '値'", Compare(tag("日本 語"), "=", "値")),
]


@pytest.mark.parametrize(("text", "expected"), GRAMMAR, ids=[t for t, _ in GRAMMAR])
def test_parse_builds_the_tree(text, expected):
    assert query.parse(text) == expected


@pytest.mark.parametrize("text", [t for t, _ in GRAMMAR])
def test_describe_round_trips(text):
    node = query.parse(text)
    canonical = query.describe(node)
    assert query.parse(canonical) == node
    assert query.describe(query.parse(canonical)) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            "STATUS='running'  AND  Tags.quality='great'",
            "status = 'Running' and tags.quality = 'great'",
        ),
        ("tags.`a b` exists", "tags.`a b` exists"),
        ("tags.`ab` exists", "tags.ab exists"),
        ("tags.`a``b` exists", "tags.`a``b` exists"),
        ('tags.k = "it\'s"', "tags.k = 'it\\'s'"),
        ("tags.k = 'a\\\\b'", "tags.k = 'a\\\\b'"),
        (
            "(tags.a exists or tags.b exists) and not (tags.c exists)",
            "(tags.a exists or tags.b exists) and not tags.c exists",
        ),
        ("not (tags.a exists or tags.b exists)", "not (tags.a exists or tags.b exists)"),
        (
            "tags.a exists or (tags.b exists and tags.c exists)",
            "tags.a exists or tags.b exists and tags.c exists",
        ),
        ("metrics.m <> 1e3", "metrics.m != 1000.0"),
        ("metrics.m in (1, 2.5)", "metrics.m in (1, 2.5)"),
        ("created > '2026-11-01T00:00:00+00:00'", "created > '2026-11-01'"),
        ("created > '2026-11-01T14:30:00+02:00'", "created > '2026-11-01T12:30:00Z'"),
        ("duration > 300", "duration > '5m'"),
        ("duration > '90s'", "duration > '90s'"),
        ("duration > '1h30m'", "duration > '90m'"),
        ("duration > 1.5", "duration > 1.5"),
        ("duration > 0", "duration > 0.0"),
        ("children.tags.k not exists", "children.tags.k not exists"),
        ("displayName NOT ILIKE 'x'", "displayName not ilike 'x'"),
    ],
)
def test_describe_is_canonical(text, canonical):
    assert query.describe(query.parse(text)) == canonical


def test_describe_quotes_keys_it_cannot_write_bare():
    for key in ["a b", "a.b", "x`y", "``", "é-ok/1", "tab\there", "and", "-", "'"]:
        node = Exists(Field("tag", key))
        assert query.parse(query.describe(node)) == node


# --- bad and hostile input -----------------------------------------------------------

BAD = [
    # (text, position, words the message must contain)
    ("", 0, "empty"),
    ("   ", 3, "empty"),
    ("status =", 8, "expected a value after '=', found end of input"),
    ("status", 6, "expected an operator after 'status'"),
    ("= 'x'", 0, "expected a condition"),
    ("'x'", 0, "expected a condition"),
    ("status = 'Running' and", 22, "expected a condition"),
    ("status = 'Running' or or status = 'Queued'", 22, "found 'or'"),
    ("status = 'Running' status = 'Queued'", 19, "expected 'and', 'or' or the end of the filter"),
    ("status 'Running'", 7, "expected an operator"),
    ("status = = 'Running'", 9, "expected a value after '=', found '='"),
    # unbalanced quotes and parentheses
    ("status = 'Running", 9, "unterminated string"),
    ('status = "Running', 9, "unterminated string"),
    ("status = 'Running\"", 9, "unterminated string"),
    ("tags.k = 'ends with a backslash\\'", 9, "unterminated string"),
    ("(status = 'Running'", 19, "expected 'and', 'or' or ')' to close the '(' at position 0"),
    ("((status = 'Running')", 21, "to close the '(' at position 0"),
    ("status = 'Running')", 18, "no '(' for it to close"),
    ("()", 1, "expected a condition"),
    (")", 0, "expected a condition"),
    ("tags.`unclosed exists", 5, "unterminated key"),
    # fields
    ("foo = 'x'", 0, "unknown field 'foo': expected one of status, experiment, displayName"),
    ("stauts = 'Running'", 0, "did you mean 'status'?"),
    ("tag.x = 'a'", 0, "did you mean 'tags.x'?"),
    ("status.x = 'a'", 0, "status has no parts"),
    ("tags = 'x'", 4, "expected a tag key after 'tags.'"),
    ("metrics > 1", 7, "expected a metric name after 'metrics.'"),
    ("tags. = 'x'", 5, "expected a name or a `quoted key` after 'tags.'"),
    ("tags.", 5, "found end of input"),
    ("tags.`` exists", 5, "empty key"),
    ("tags.a.b = 'x'", 0, "goes in backticks, as in tags.`a.b`"),
    ("children = 'x'", 0, "children needs a field"),
    ("children.children.status = 'Failed'", 0, "children.children is not needed"),
    (
        "children.`status` = 'Failed'",
        0,
        "only keys after tags., properties. or metrics. are quoted",
    ),
    ("`status` = 'x'", 0, "backticks quote a key"),
    ("nan > 1", 0, "unknown field 'nan'"),
    # values
    (
        "status = 'Runing'",
        9,
        "unknown status 'Runing' (did you mean 'Running'?): expected one of NotStarted",
    ),
    ("status in ('Failed', 'Bogus')", 21, "unknown status 'Bogus'"),
    ("status = Running", 9, "expected a value after '=', found 'Running'"),
    ("status = null", 9, "use 'exists' or 'not exists'"),
    ("status < 'Running'", 7, "'<' does not apply to status"),
    ("tags.k = 5", 9, "tags.k is text, so write '5'"),
    ("displayName like 5", 17, "expected a string in quotes"),
    ("metrics.acc < '0.9'", 14, "a metric compares with text only with =, != and in"),
    ("metrics.acc like '0.9'", 12, "'like' does not apply to metrics.acc"),
    ("created like '2026%'", 8, "'like' does not apply to created"),
    ("duration ilike '5m'", 9, "'ilike' does not apply to duration"),
    ("created > 'yesterday'", 10, "expected a date such as '2026-11-01'"),
    ("created > '2026-13-01'", 10, "expected a date"),
    ("created > '2026-02-30'", 10, "expected a date"),
    ("created > ''", 10, "expected a date"),
    ("created > 20261101", 10, "expected a date in quotes"),
    ("created > '0001-01-01T00:00:00+01:00'", 10, "expected a date"),
    ("duration > 5m", 11, "a duration with a unit goes in quotes"),
    ("duration > '5 minutes'", 11, "expected a duration"),
    ("duration > '5y'", 11, "expected a duration"),
    ("duration > 'm'", 11, "expected a duration"),
    ("duration > ''", 11, "expected a duration"),
    ("duration > '" + "9" * 400 + "s'", 11, "out of range"),
    ("tags.k in ()", 11, "expected a value after '('"),
    ("tags.k in ('a',)", 15, "expected a value after ','"),
    ("tags.k in ('a' 'b')", 15, "expected ',' or ')'"),
    ("tags.k in 'a'", 10, "expected '(' to start the list"),
    ("tags.k in ('a'", 14, "expected ',' or ')'"),
    ("tags.k not = 'a'", 11, "expected 'like', 'ilike', 'in' or 'exists' after 'not'"),
    ("tags.k not", 10, "after 'not', found end of input"),
    ("tags.k exists exists", 14, "expected 'and', 'or'"),
    ("tags.k = 'unknown \\q escape'", 18, "unknown escape '\\q'"),
    ("tags.k = 'C:\\data'", 12, "unknown escape '\\d' in a string: the escapes are \\\\"),
    # numbers
    ("metrics.m > 1e999", 12, "out of range: numbers must be finite and within ±1e300"),
    ("metrics.m > -1e999", 12, "out of range"),
    ("metrics.m > 1e301", 12, "out of range"),
    ("metrics.m > 1" + "0" * 400, 12, "out of range"),
    ("metrics.m > 2" + "0" * 300, 12, "out of range"),
    ("metrics.m > 3" + "0" * 300 + ".5", 12, "out of range"),
    ("metrics.m > NaN", 12, "expected a value after '>', found 'NaN'"),
    ("metrics.m > inf", 12, "found 'inf'"),
    ("metrics.m > -inf", 12, "unexpected character '-'"),
    ("metrics.m > 'NaN'", 12, "compares with text only"),
    ("metrics.m > 1e", 13, "malformed number"),
    ("metrics.m > 1e+", 13, "malformed number"),
    ("metrics.m > 1.2.3", 12, "malformed number"),
    ("metrics.m > 12abc", 12, "malformed number '12a'"),
    ("metrics.m > 0x10", 12, "malformed number"),
    ("metrics.m > --1", 12, "unexpected character '-'"),
    ("metrics.m > +1", 12, "unexpected character '+'"),
    ("metrics.m > ١", 12, "unexpected character"),
    # injection attempts: refused before any SQL exists
    ("' OR 1=1 --", 0, "unterminated string"),
    ("' OR '1'='1", 0, "expected a condition"),
    ("status = '' OR 1=1 --", 9, "unknown status ''"),
    ("status = 'x' OR 1=1 --", 9, "unknown status"),
    ("tags.k = 'x' OR 1=1 --", 16, "expected a condition"),
    ("tags.k = 'x'; DROP TABLE runs_run; --", 12, "unexpected character ';'"),
    ("'; DROP TABLE runs_run; --", 0, "unterminated string"),
    ("tags.k = 'x\\' OR 1=1 --", 9, "unterminated string"),
    ("tags.k = 'x\\\\' OR 1=1 --", 18, "expected a condition"),
    ("tags.k = 'x'' OR ''1''=''1", 9, "unterminated string"),
    ("tags.k = 'x' /* comment */", 13, "unexpected character '/'"),
    ("tags.k = 'x' # comment", 13, "unexpected character '#'"),
    ("tags.k = 'x' UNION SELECT * FROM auth_user", 13, "expected 'and', 'or'"),
    ("runId = 'x' or runId = 'y' --", 27, "unexpected character '-'"),
    ("status = 'Running'\\", 18, "unexpected character '\\\\'"),
    ("tags.k = 'a'; SELECT pg_sleep(10)", 12, "unexpected character ';'"),
    # control characters and unicode oddities
    ("status = 'Running'\x00", 18, "control character U+0000"),
    ("tags.k = 'a\x00b'", 11, "control character U+0000"),
    ("tags.k = 'a\x1bb'", 11, "control character U+001B"),
    ("tags.k = 'a\x7fb'", 11, "control character U+007F"),
    ("tags.k = 'a\ud800'", 11, "control character U+D800"),
    ("\x85status = 'Running'", 0, "control character U+0085"),
    ("\ufeffstatus = 'Running'", 0, "unexpected character"),
    ("status ≠ 'Running'", 7, "unexpected character '≠'"),
    ("status = ‘Running’", 9, "unexpected character '‘'"),
    ("🙂 = 'x'", 0, "unexpected character '🙂'"),
    ("tags.🙂 = 'x'", 5, "expected a name or a `quoted key`"),
]


@pytest.mark.parametrize(("text", "position", "message"), BAD, ids=[repr(b[0][:60]) for b in BAD])
def test_bad_input_says_where_and_what(text, position, message):
    with pytest.raises(QueryError) as info:
        query.parse(text)
    assert info.value.position == position, str(info.value)
    assert message in info.value.message
    assert str(info.value) == f"position {position}: {info.value.message}"
    assert isinstance(info.value, ValueError)


def test_error_message_reads_as_documented():
    with pytest.raises(QueryError) as info:
        query.parse("status = 'Running' and metrics.acc >=")
    assert str(info.value) == "position 37: expected a value after '>=', found end of input"


def test_unknown_field_lists_every_identifier():
    with pytest.raises(QueryError) as info:
        query.parse("bogus exists")
    for name in [*query.FIELDS, "tags.<key>", "properties.<key>", "metrics.<name>", "children."]:
        assert name in info.value.message


def test_unknown_status_lists_every_status():
    with pytest.raises(QueryError) as info:
        query.parse("status = 'Bogus'")
    for status in Status.values:
        assert status in info.value.message


def test_long_strings_are_shortened_in_messages():
    with pytest.raises(QueryError) as info:
        query.parse("status = '" + "x" * 500 + "'")
    assert len(info.value.message) < 300


LIMITS = [
    ("status = 'Running' and " * 500 + "tags.a exists", query.MAX_LENGTH, "too long"),
    ("x" * 10_000, query.MAX_LENGTH, "10000 characters, at most 2000"),
    ("(" * 1000 + "tags.a exists" + ")" * 1000, query.MAX_LENGTH, "too long"),
    ("(" * 1000, 20, "nests too deeply"),
    ("(" * 25 + "tags.a exists" + ")" * 25, 20, "nests too deeply: at most 20"),
    ("not " * 1000 + "tags.a exists", query.MAX_LENGTH, "too long"),
    ("not " * 25 + "tags.a exists", 80, "nests too deeply"),
    ("(not " * 15 + "tags.a exists" + ")" * 15, 50, "nests too deeply"),
    (" or ".join(["status = 'Running'"] * 500), query.MAX_LENGTH, "too long"),
    (" or ".join(["tags.a exists"] * 500), query.MAX_LENGTH, "too long"),
    (" or ".join(["runId='a'"] * 51), 50 * len("runId='a' or "), "too many conditions: at most 50"),
    (" and ".join(["tags.a exists"] * 51), 50 * len("tags.a exists and "), "too many conditions"),
    (
        "runId in (" + ", ".join(["'a'"] * 101) + ")",
        len("runId in (") + 100 * len("'a', "),
        "too many values in the list: at most 100",
    ),
    ("runId = '" + "x" * 1995 + "'", query.MAX_LENGTH, "too long"),
]


@pytest.mark.parametrize(
    ("text", "position", "message"), LIMITS, ids=[str(i) for i in range(len(LIMITS))]
)
def test_limits_are_query_errors_not_crashes(text, position, message):
    with pytest.raises(QueryError) as info:
        query.parse(text)
    assert info.value.position == position, str(info.value)
    assert message in info.value.message


def test_limits_themselves_are_allowed():
    assert len(query.parse(" or ".join(["runId='a'"] * 50)).items) == 50
    assert len(query.parse("runId in (" + ", ".join(["'a'"] * 100) + ")").values) == 100
    deep = "(" * 19 + "not tags.a exists" + ")" * 19
    assert query.parse(deep) == Not(Exists(tag("a")))
    assert query.parse("runId = '" + "x" * 1990 + "'").value == "x" * 1990


def test_non_text_is_refused():
    with pytest.raises(QueryError):
        query.parse(None)


# --- like patterns -------------------------------------------------------------------


def _like_reference(pattern: str, text: str) -> bool:
    """SQL LIKE with backslash escapes, by dynamic programming (the specification)."""
    parts = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            parts.append(("lit", pattern[i + 1]))
            i += 2
            continue
        parts.append({"%": ("any", ""), "_": ("one", "")}.get(pattern[i], ("lit", pattern[i])))
        i += 1
    match = [[False] * (len(text) + 1) for _ in range(len(parts) + 1)]
    match[0][0] = True
    for p, (kind, ch) in enumerate(parts, 1):
        for t in range(len(text) + 1):
            if kind == "any":
                match[p][t] = match[p - 1][t] or (t > 0 and match[p][t - 1])
            elif t > 0:
                match[p][t] = match[p - 1][t - 1] and (kind == "one" or text[t - 1] == ch)
    return match[len(parts)][len(text)]


def test_like_regex_agrees_with_the_definition_of_like():
    patterns = ["".join(p) for n in range(5) for p in itertools.product("ab%_\\", repeat=n)]
    texts = ["".join(t) for n in range(5) for t in itertools.product("ab_", repeat=n)]
    for pattern in patterns:
        regex = re.compile(query.like_regex(pattern, insensitive=False))
        for text in texts:
            assert bool(regex.search(text)) == _like_reference(pattern, text), (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "text", "insensitive", "matches"),
    [
        ("%resnet%", "a resnet-50", False, True),
        ("%resnet%", "a ResNet-50", False, False),
        ("%resnet%", "a ResNet-50", True, True),
        ("a.b", "axb", False, False),
        ("a.b", "a.b", False, True),
        ("(x)*", "(x)*", False, True),
        ("a_c", "a\nc", False, True),
        ("%end", "line\nend", False, True),
        ("end", "end\n", False, False),
        ("100\\%", "100%", False, True),
        ("100\\%", "1000", False, False),
        ("a\\_b", "a_b", False, True),
        ("a\\_b", "axb", False, False),
        ("a\\\\b", "a\\b", False, True),
        ("trailing\\", "trailing\\", False, True),
        ("ÉCOLE%", "école normale", True, True),
    ],
)
def test_like_regex_cases(pattern, text, insensitive, matches):
    assert bool(re.search(query.like_regex(pattern, insensitive=insensitive), text)) is matches


def test_like_regex_does_not_backtrack_catastrophically():
    # Without the atomic groups this pattern against this text takes longer than
    # the age of the universe; with them it is a few linear scans.
    regex = query.like_regex("%a" * 30 + "%b", insensitive=True)
    assert re.search(regex, "a" * 5000) is None
    assert re.search(regex, "a" * 5000 + "b") is not None


@pytest.mark.parametrize(
    ("pattern", "sql"),
    [
        ("%a_b%", "%a_b%"),
        ("100\\%", "100\\%"),
        ("a\\_", "a\\_"),
        ("a\\\\", "a\\\\"),
        ("%%%", "%"),
        ("x\\y", "xy"),
    ],
)
def test_like_sql_pattern(pattern, sql):
    assert query.like_sql_pattern(pattern) == sql


# --- matching real rows --------------------------------------------------------------


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def runs(workspace, now):
    """A small workspace: four top-level runs, a child and a grandchild."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    alpha = ExperimentFactory(workspace=workspace, name="alpha")
    beta = ExperimentFactory(workspace=workspace, name="beta")
    r = {}
    r["r1"] = RunFactory(
        experiment=alpha,
        id="alpha_1",
        status=Status.RUNNING,
        display_name="resnet-50 baseline",
        submitted_by=alice,
        description="First line\nuses ResNet",
        created=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        started=now - timedelta(minutes=10),
    )
    r["r2"] = RunFactory(
        experiment=alpha,
        id="alpha_2",
        status=Status.COMPLETED,
        display_name="ResNet big",
        compute_target="gpu",
        submitted_by=bob,
        created=datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
        started=now - timedelta(hours=2),
        ended=now - timedelta(hours=1),
    )
    r["r3"] = RunFactory(
        experiment=beta,
        id="beta_1",
        status=Status.FAILED,
        display_name="vit_small",
        created=datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        started=now - timedelta(days=1),
        ended=now - timedelta(days=1) + timedelta(seconds=90),
    )
    r["r4"] = RunFactory(
        experiment=beta,
        id="beta_2",
        status=Status.QUEUED,
        display_name="",
        compute_target="",
        created=datetime(2026, 10, 1, tzinfo=UTC),
    )
    r["c1"] = RunFactory(
        experiment=alpha,
        parent=r["r2"],
        id="alpha_2_1",
        status=Status.FAILED,
        display_name="vitXsmall",
        submitted_by=bob,
        created=datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
    )
    r["g1"] = RunFactory(
        experiment=alpha,
        parent=r["c1"],
        id="alpha_2_1_1",
        status=Status.COMPLETED,
        created=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
    )
    TagFactory(run=r["r1"], key="quality", value="great")
    TagFactory(run=r["r1"], key="worth another look", value=None)
    TagFactory(run=r["r1"], key="a.b", value="dotted")
    TagFactory(run=r["r2"], key="quality", value="good")
    TagFactory(run=r["r2"], key="epochs", value="10")
    TagFactory(run=r["r3"], key="epochs", value="9")
    TagFactory(run=r["c1"], key="quality", value="bad")
    TagFactory(run=r["r4"], key="note", value="it's 100% done")
    PropertyFactory(run=r["r1"], key="author", value="alice")
    PropertyFactory(run=r["r2"], key="author", value="bot")
    for run, name, value in [
        (r["r1"], "acc", 0.95),
        (r["r1"], "loss", 0.2),
        (r["r2"], "acc", 0.85),
        (r["r3"], "acc", None),  # the last point was NaN
        (r["g1"], "acc", 0.99),
        (r["r2"], "train/loss", -1e-3),
    ]:
        LatestMetric.objects.create(run=run, name=name, value=value, step=1, time=now)
    return r


def matching(text: str) -> set[str]:
    names = {"alpha_1": "r1", "alpha_2": "r2", "beta_1": "r3", "beta_2": "r4"}
    names |= {"alpha_2_1": "c1", "alpha_2_1_1": "g1"}
    qs = query.apply(Run.objects.all(), query.parse(text))
    return {names.get(pk, pk) for pk in qs.values_list("pk", flat=True)}


ALL = {"r1", "r2", "r3", "r4", "c1", "g1"}
MATCHES = [
    # the design's examples
    ("status = 'Running' and tags.quality = 'great' and metrics.acc >= 0.9", {"r1"}),
    ("(experiment = 'alpha' or experiment = 'beta') and properties.author != 'bot'", {"r1"}),
    ("tags.`worth another look` exists and created > '2026-11-01'", {"r1"}),
    ("displayName like '%resnet%'", {"r1"}),
    ("status in ('Failed', 'Canceled')", {"r3", "c1"}),
    # fields
    ("status = 'Completed'", {"r2", "g1"}),
    ("status != 'Completed'", {"r1", "r3", "r4", "c1"}),
    ("status not in ('Completed', 'Failed')", {"r1", "r4"}),
    ("status like '%ed'", {"r2", "r3", "c1", "g1", "r4"}),
    ("experiment = 'beta'", {"r3", "r4"}),
    ("experiment != 'beta'", {"r1", "r2", "c1", "g1"}),
    ("experiment in ('alpha', 'nope')", {"r1", "r2", "c1", "g1"}),
    ("experiment like 'al%'", {"r1", "r2", "c1", "g1"}),
    ("experiment ilike 'BETA'", {"r3", "r4"}),
    ("submittedBy like 'b%'", {"r2", "c1"}),
    ("submittedBy not ilike 'B%'", {"r1"}),
    ("parentRunId like 'alpha\\_2%'", {"c1", "g1"}),
    ("parentRunId not like 'alpha\\_2'", {"g1"}),
    ("runId = 'alpha_2_1'", {"c1"}),
    ("runId like 'alpha\\_2%'", {"r2", "c1", "g1"}),
    ("runId > 'beta'", {"r3", "r4"}),
    ("target = 'gpu'", {"r2"}),
    ("target exists", ALL - {"r4"}),
    ("submittedBy = 'alice'", {"r1"}),
    ("submittedBy != 'alice'", {"r2", "c1"}),
    ("not submittedBy = 'alice'", ALL - {"r1"}),
    ("submittedBy not in ('alice')", {"r2", "c1"}),
    ("submittedBy exists", {"r1", "r2", "c1"}),
    ("submittedBy not exists", {"r3", "r4", "g1"}),
    ("displayName = ''", {"r4"}),
    ("displayName exists", ALL - {"r4"}),
    ("displayName like 'vit_small'", {"r3", "c1"}),
    ("displayName like 'vit\\_small'", {"r3"}),
    ("displayName ilike '%RESNET%'", {"r1", "r2"}),
    ("displayName not like '%resnet%'", ALL - {"r1"}),
    ("displayName not ilike '%resnet%'", ALL - {"r1", "r2"}),
    ("displayName like 'ResNet'", set()),
    ("displayName like 'ResNet%'", {"r2"}),
    ("displayName like '%big'", {"r2"}),
    ("displayName like '_esNet big'", {"r2"}),
    ("description like 'First%ResNet'", {"r1"}),
    ("description like '%resnet%'", set()),
    ("description ilike '%resnet'", {"r1"}),
    ("description exists", {"r1"}),
    ("parentRunId = 'alpha_2'", {"c1"}),
    ("parentRunId != 'alpha_2'", {"g1"}),
    ("parentRunId exists", {"c1", "g1"}),
    ("parentRunId not exists", {"r1", "r2", "r3", "r4"}),
    ("created > '2026-11-01'", {"r1", "c1", "g1"}),
    ("created >= '2026-11-01'", {"r1", "r2", "c1", "g1"}),
    ("created = '2026-11-01'", {"r2"}),
    ("created < '2026-11-01T01:00:00+01:00'", {"r3", "r4"}),
    ("created in ('2026-11-01', '2026-10-01')", {"r2", "r4"}),
    ("created exists", ALL),
    ("started exists", {"r1", "r2", "r3"}),
    ("ended exists", {"r2", "r3"}),
    ("ended not exists", {"r1", "r4", "c1", "g1"}),
    ("started < '2000-01-01'", set()),
    ("ended != '2000-01-01'", {"r2", "r3"}),
    # duration: ended (or now) minus started; runs not started have none
    ("duration > '30m'", {"r2"}),
    ("duration >= '1h'", {"r2"}),
    ("duration = '1h'", {"r2"}),
    ("duration = 90", {"r3"}),
    ("duration < '5m'", {"r3"}),
    ("duration <= 90", {"r3"}),
    ("duration > '5m' and duration < '30m'", {"r1"}),
    ("duration != 90", {"r1", "r2"}),
    ("duration in (90, '1h')", {"r2", "r3"}),
    ("duration not in (90, '1h')", {"r1"}),
    ("not duration > '30m'", ALL - {"r2"}),
    ("duration exists", {"r1", "r2", "r3"}),
    ("duration not exists", {"r4", "c1", "g1"}),
    ("duration > 1e300", set()),
    ("duration >= 1e300", set()),
    ("duration = 1e300", set()),
    ("duration < 1e300", {"r1", "r2", "r3"}),
    ("duration != 1e300", {"r1", "r2", "r3"}),
    ("duration > -1e300", {"r1", "r2", "r3"}),
    ("duration < -1e300", set()),
    ("duration > -1", {"r1", "r2", "r3"}),
    ("duration > '10000d'", set()),
    # tags: text; != and not in need the tag with another value
    ("tags.quality = 'great'", {"r1"}),
    ("tags.quality != 'great'", {"r2", "c1"}),
    ("not tags.quality = 'great'", ALL - {"r1"}),
    ("tags.quality in ('good', 'bad')", {"r2", "c1"}),
    ("tags.quality not in ('good', 'bad')", {"r1"}),
    ("tags.quality like 'g%'", {"r1", "r2"}),
    ("tags.quality not like 'g%'", {"c1"}),
    ("tags.quality ilike 'GREAT'", {"r1"}),
    ("tags.quality exists", {"r1", "r2", "c1"}),
    ("tags.quality not exists", {"r3", "r4", "g1"}),
    ("tags.epochs > '9'", set()),  # text: '10' < '9'
    ("tags.epochs < '9'", {"r2"}),
    ("tags.epochs >= '9'", {"r3"}),
    ("tags.`worth another look` exists", {"r1"}),
    ("tags.`worth another look` = ''", set()),
    ("tags.`worth another look` != 'x'", set()),  # key-only: no value to compare
    ("tags.`a.b` = 'dotted'", {"r1"}),
    ("tags.note = 'it''s 100% done'", {"r4"}),
    ("tags.note like '%100\\% done'", {"r4"}),
    ("tags.note like '%100\\%%'", {"r4"}),
    ("tags.note like '%1000%'", set()),
    ("tags.missing = 'x'", set()),
    ("tags.QUALITY exists", set()),  # keys are case-sensitive
    # properties: text; != needs the property
    ("properties.author = 'alice'", {"r1"}),
    ("properties.author != 'alice'", {"r2"}),
    ("properties.author exists", {"r1", "r2"}),
    ("properties.author like 'b%'", {"r2"}),
    # metrics: numbers; NaN (NULL) never compares
    ("metrics.acc >= 0.9", {"r1", "g1"}),
    ("metrics.acc > 0.85", {"r1", "g1"}),
    ("metrics.acc = 0.85", {"r2"}),
    ("metrics.acc != 0.85", {"r1", "g1"}),
    ("metrics.acc < 1", {"r1", "r2", "g1"}),
    ("metrics.acc < 1e300", {"r1", "r2", "g1"}),
    ("metrics.acc in (0.95, 0.99)", {"r1", "g1"}),
    ("metrics.acc not in (0.95, 0.99)", {"r2"}),
    ("metrics.acc exists", {"r1", "r2", "r3", "g1"}),
    ("metrics.acc not exists", {"r4", "c1"}),
    ("not metrics.acc >= 0.9", {"r2", "r3", "r4", "c1"}),
    ("metrics.loss = 0.2", {"r1"}),
    ("metrics.`train/loss` < 0", {"r2"}),
    ("metrics.train/loss >= -1e-3", {"r2"}),
    ("metrics.acc > 1", set()),
    # children: some descendant, any depth
    ("children.status = 'Failed'", {"r2"}),
    ("children.status = 'Completed'", {"r2", "c1"}),
    ("children.metrics.acc > 0.98", {"r2", "c1"}),
    ("children.tags.quality = 'bad'", {"r2"}),
    ("children.tags.quality exists", {"r2"}),
    ("children.tags.quality not exists", {"r2", "c1"}),
    ("not children.tags.quality exists", ALL - {"r2"}),
    ("children.runId exists", {"r2", "c1"}),
    ("not children.runId exists", {"r1", "r3", "r4", "g1"}),
    ("children.displayName like 'vit%'", {"r2"}),
    ("children.status = 'Failed' and children.status = 'Completed'", {"r2"}),
    ("children.status = 'Failed' and status = 'Completed'", {"r2"}),
    ("children.experiment = 'beta'", set()),
    ("children.duration exists", set()),
    # and / or / not combine without duplicating rows
    ("tags.quality exists or metrics.acc exists", {"r1", "r2", "r3", "c1", "g1"}),
    ("tags.quality exists and metrics.acc exists", {"r1", "r2"}),
    ("not (tags.quality exists or metrics.acc exists)", {"r4"}),
    ("status = 'Running' or status = 'Queued' and experiment = 'alpha'", {"r1"}),
    ("(status = 'Running' or status = 'Queued') and experiment = 'beta'", {"r4"}),
    ("not not status = 'Running'", {"r1"}),
    ("runId exists", ALL),
    ("not runId exists", set()),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES, ids=[t for t, _ in MATCHES])
def test_filter_matches_exactly(runs, text, expected):
    assert matching(text) == expected


def test_durations_of_times_with_microseconds(workspace):
    # Times as the studio stamps them (microseconds): 90 s apart, to the microsecond.
    start = datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)
    RunFactory(
        experiment=ExperimentFactory(workspace=workspace, name="exact"),
        id="exact_1",
        status=Status.COMPLETED,
        started=start,
        ended=start + timedelta(seconds=90),
    )
    for text, expected in [
        ("duration = 90", {"exact_1"}),
        ("duration = '1m30s'", {"exact_1"}),
        ("duration > 89.99 and duration < 90.01", {"exact_1"}),
        ("duration > 90", set()),
        ("duration < 90", set()),
    ]:
        assert matching(text) == expected, text


def test_or_over_subqueries_never_repeats_rows(runs):
    qs = query.apply(Run.objects.all(), query.parse("tags.quality exists or metrics.acc exists"))
    pks = list(qs.values_list("pk", flat=True))
    assert len(pks) == len(set(pks)) == 5


def test_not_is_the_complement(runs):
    for text, _ in MATCHES:
        if text.startswith("not"):
            continue
        assert matching(f"not ({text})") == ALL - matching(text), text


def test_to_q_composes_with_other_conditions(runs):
    from django.db.models import Q

    cond = query.to_q(query.parse("tags.quality exists")) & Q(experiment__name="alpha")
    children = Run.objects.filter(parent__isnull=False).filter(cond).values("root_id")
    roots = Run.objects.filter(parent__isnull=True).filter(cond | Q(pk__in=children))
    assert set(roots.values_list("pk", flat=True)) == {"alpha_1", "alpha_2"}


def test_filter_is_one_query(runs, django_assert_num_queries):
    qs = query.apply(
        Run.objects.all(),
        query.parse(
            "children.tags.quality = 'bad' or metrics.acc > 0.9 and properties.author exists "
            "or duration > '5m' and displayName ilike '%net%'"
        ),
    )
    with django_assert_num_queries(1):
        assert {r.pk for r in qs} == {"alpha_1", "alpha_2"}


def test_duration_of_a_running_run_counts_to_now(runs, now):
    node = query.parse("duration > '15m'")
    assert "alpha_1" not in set(Run.objects.filter(query.to_q(node)).values_list("pk", flat=True))
    later = now + timedelta(minutes=10)
    matched = Run.objects.filter(query.to_q(node, now=later)).values_list("pk", flat=True)
    assert "alpha_1" in set(matched)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("children.status = 'Failed'", set()),
        ("children.status exists", {"t", "q%"}),
        ("runId = 'q%'", {"q%"}),
        ("runId like 'q\\%'", {"q%"}),
        ("runId like 'q%'", {"q", "q%", "qz_1", "q%_1"}),
        ("runId like 't\\_a'", {"t_a"}),
        ("runId like 't_a'", {"t_a"}),
        ("runId like 't_a%'", {"t_a", "tXa_1"}),
        ("children.status = 'Canceled'", {"q%"}),
    ],
)
def test_ids_with_like_wildcards_are_literal(workspace, text, expected):
    """Descendants are found by id prefix: `_` and `%` in ids must not act as wildcards."""
    exp = ExperimentFactory(workspace=workspace, name="wild")

    def make(pk, parent, status=Status.RUNNING):
        return RunFactory(
            experiment=exp,
            id=pk,
            parent=parent,
            root_id="t" if pk[0] == "t" else "q",
            status=status,
        )

    t = make("t", None)
    t_a = make("t_a", t)
    # Same tree, an id that `t_a_%` would match if `_` were a wildcard.
    make("tXa_1", t, Status.FAILED)
    q = make("q", None)
    q_pct = make("q%", q)
    # Same tree, an id that `q%_%` would match if `%` were a wildcard.
    make("qz_1", q, Status.FAILED)
    make("q%_1", q_pct, Status.CANCELED)
    assert t_a.root_id == "t"
    qs = query.apply(Run.objects.filter(experiment=exp), query.parse(text))
    assert set(qs.values_list("pk", flat=True)) == expected


def test_like_backtracking_bomb_against_the_database(runs):
    runs["r1"].display_name = "a" * 255
    runs["r1"].save(update_fields=["display_name"])
    assert matching("displayName ilike '" + "%a" * 30 + "%b'") == set()
    assert matching("displayName like '" + "%a" * 30 + "%'") == {"r1"}


def test_injection_text_inside_a_string_is_only_a_value(runs):
    hostile = [
        "' OR 1=1 --",
        "'; DROP TABLE runs_run; --",
        "\\'; DROP TABLE runs_run; --",
        "%' OR '1'='1",
        "x\\",
        "日本語 ✓",
    ]
    for value in hostile:
        literal = "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        for op in ("=", "!=", "like", "ilike", ">"):
            assert matching(f"tags.quality {op} {literal}") <= {"r1", "r2", "c1"}
            assert matching(f"displayName {op} {literal}") <= ALL
    assert Run.objects.count() == 6


@pytest.mark.parametrize(
    "node",
    [
        Compare(tag("k"), "=", "v"),
        Or((Exists(tag("a")), Not(In(metric("m"), (1, 2.5))))),
        And(
            (
                Compare(DURATION, ">=", 5400.0),
                Compare(CREATED, "<", datetime(2026, 1, 1, 12, tzinfo=UTC)),
            )
        ),
        Exists(Field("field", "ended", True), negated=True),
        Compare(Field("tag", "sp ace.dot`tick"), "not ilike", "a\\%b'c\"d"),
    ],
)
def test_hand_built_trees_round_trip(node):
    assert query.parse(query.describe(node)) == node
