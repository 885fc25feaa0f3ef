"""The filter language under hypothesis: round trips, only QueryError, no other workspace.

Filters are generated from the grammar (fields with values of their type, every
operator, `and`/`or`/`not`, parentheses, odd keys and strings), and as raw text
and token soup. `FUZZ_EXAMPLES` (environment) raises the number of examples.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runs import query, services
from runs.models import Run
from runs.query import QueryError
from runs.services import SeriesIn
from runs.status import Status
from tests.conftest import ApiClient
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None


def _settings(default: int, **kwargs) -> settings:
    return settings(
        max_examples=EXAMPLES or default, deadline=None, derandomize=True, database=None, **kwargs
    )


# Text with what breaks parsers: quotes, backslashes, backticks, controls, non-ASCII.
odd_text = st.text(
    alphabet=st.sampled_from("ab Z_%\\'\"`.-/:()=<>!,\t\n\x00é漢\u200b\ufeff😀"), max_size=12
)
keys = st.one_of(st.sampled_from(["quality", "lr", "a b", "x.y", "`", "tag-1"]), odd_text)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _backtick(key: str) -> str:
    return "`" + key.replace("`", "``") + "`"


numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["1e-3", "-0.5", ".5", "3."]),
)
times = st.sampled_from(["'2026-11-01'", "'2026-11-01T10:00:00Z'", "'2026-01-31 23:59'"])
durations = st.sampled_from(["'5m'", "'2h'", "'1d'", "'90s'", "'1w'", "3600"])
statuses = st.sampled_from([s.value for s in Status]).map(_quote)
strings = odd_text.map(_quote)

TEXT_FIELDS = ["experiment", "displayName", "runId", "target", "submittedBy", "description"]


@st.composite
def field_and_value(draw) -> tuple[str, st.SearchStrategy[str]]:
    kind = draw(st.sampled_from(["text", "status", "time", "duration", "tag", "prop", "metric"]))
    if kind == "text":
        field, values = draw(st.sampled_from(TEXT_FIELDS + ["parentRunId"])), strings
    elif kind == "status":
        field, values = "status", statuses
    elif kind == "time":
        field, values = draw(st.sampled_from(["created", "started", "ended"])), times
    elif kind == "duration":
        field, values = "duration", durations
    else:
        prefix = {"tag": "tags", "prop": "properties", "metric": "metrics"}[kind]
        field = f"{prefix}.{_backtick(draw(keys))}"
        values = numbers if kind == "metric" else strings
    if draw(st.booleans()) and draw(st.booleans()):
        field = "children." + field
    return field, values


@st.composite
def conditions(draw) -> str:
    field, values = draw(field_and_value())
    form = draw(st.sampled_from(["cmp", "like", "in", "exists"]))
    if form == "cmp":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{field} {op} {draw(values)}"
    if form == "like":
        op = draw(st.sampled_from(["like", "ilike", "not like", "not ilike"]))
        return f"{field} {op} {draw(strings)}"
    if form == "in":
        items = draw(st.lists(values, min_size=1, max_size=3))
        neg = draw(st.sampled_from(["in", "not in"]))
        return f"{field} {neg} ({', '.join(items)})"
    return f"{field} {draw(st.sampled_from(['exists', 'not exists']))}"


filters = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or ", " AND ", " Or "]), inner).map("".join),
        inner.map(lambda f: f"not ({f})"),
        inner.map(lambda f: f"({f})"),
    ),
    max_leaves=6,
)

TOKENS = [
    "status", "tags.", "metrics.acc", "children.", "`a b`", "'x'", '"y"', "'", "`",
    "=", "!=", "<=", ">", "like", "ilike", "in", "not", "and", "or", "exists", "(", ")",
    ",", "1", "-2.5e3", "'2026-11-01'", "'5m'", "\\", "\x00", " ", "\t",
]  # fmt: skip
soup = st.lists(st.sampled_from(TOKENS), max_size=15).map("".join)


def _parsed(text: str) -> query.Node | None:
    try:
        return query.parse(text)
    except QueryError:
        return None


@_settings(300)
@given(filters)
def test_parse_describe_parse_round_trips(text):
    node = _parsed(text)
    if node is None:  # a type the field does not take, a status misspelt: refused cleanly
        return
    canonical = query.describe(node)
    assert query.parse(canonical) == node, canonical
    assert query.describe(query.parse(canonical)) == canonical


@_settings(300)
@given(st.one_of(st.text(max_size=60), soup, filters.map(lambda f: f[: len(f) // 2])))
def test_any_text_raises_nothing_but_query_error(text):
    try:
        query.to_q(query.parse(text))
    except QueryError as exc:
        error = exc
    else:
        return
    assert 0 <= error.position <= len(text), error


def test_generated_filters_are_mostly_valid():
    """The grammar above writes filters the parser takes, not only refusals."""
    valid = 0

    @_settings(200)
    @given(filters)
    def count(text):
        nonlocal valid
        valid += _parsed(text) is not None

    count()
    assert valid >= 100, valid


@pytest.fixture
def two_workspaces(db):
    """Twin workspaces: same experiment names, tags, properties, metrics and text.

    `api` is a client of the last one's owner (`theirs`)."""
    made = {}
    for slug in ("ours", "theirs"):
        ws = WorkspaceFactory(slug=slug)
        user = UserFactory(username=f"{slug}-owner")
        MembershipFactory(workspace=ws, user=user, role="owner")
        exp = services.experiment_get_or_create(workspace=ws, name="mnist")
        for i in range(3):
            run = services.run_create(
                experiment=exp,
                user=user,
                display_name=f"run {i}",
                description="a b",
                tags={"quality": "great", "a b": None},
            )
            services.run_add_properties(run=run, properties={"lr": str(i)})
            services.metric_log_batch(run=run, series=[SeriesIn("acc", [0.5 + i / 10])])
            services.run_create_children(parent=run, user=user, count=1)
        made[slug] = ws
        _, secret = services.token_create(user=user, name="fuzz")
        made["api"] = ApiClient(secret, user)
    return made


@_settings(60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(filters, st.just("status exists")))
def test_a_filter_never_reaches_another_workspace(two_workspaces, text):
    node = _parsed(text)
    if node is None:
        return
    ours = two_workspaces["ours"]
    found = query.apply(Run.objects.filter(workspace=ours), node)
    assert set(found.values_list("workspace__slug", flat=True)) <= {"ours"}


@_settings(25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(filters, st.just("tags.quality = 'great'")))
def test_the_api_list_with_any_filter_answers_only_its_workspace(two_workspaces, text):
    api = two_workspaces["api"]
    response = api.get("/api/w/theirs/runs", {"filter": text, "includeChildren": "true"})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        ids = {r["runId"] for r in response.json()["runs"]}
        ours = set(Run.objects.filter(workspace__slug="ours").values_list("id", flat=True))
        assert not ids & ours
