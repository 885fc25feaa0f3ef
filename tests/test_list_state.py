"""The run list's state: parse -> canonical -> query string -> parse, over random states
(hypothesis), and each parameter's errors, table-driven."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runs.lifecycle import Status
from runs.list_state import (
    BUILTIN_COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_SORT,
    MAX_COLUMNS,
    MAX_PAGE,
    MAX_PER_PAGE,
    SORT_KEYS,
    ChartSpec,
    ListState,
    ListStateError,
    parse_charts,
    state_querystring,
)

# Text as people type it in a parameter: printable, no control characters, trimmed.
_TEXT = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x00"
        ),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-/ ]{0,20}[A-Za-z0-9]", fullmatch=True)
_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,15}", fullmatch=True)
FILTERS = [
    "status = 'Failed'",
    "metrics.acc >= 0.9 and tags.quality = 'great'",
    "(experiment = 'a' or experiment = 'b') and properties.author != 'bot'",
    "tags.`worth another look` exists",
    "displayName like '%resnet%'",
    "status in ('Failed', 'Canceled')",
    "not children.status = 'Running'",
    "duration > '1h' or created > '2026-11-01'",
]


def _unique(strategy, max_size=4):
    return st.lists(strategy, max_size=max_size, unique=True).map(tuple)


@st.composite
def sorts(draw) -> str:
    key = draw(st.one_of(st.sampled_from(SORT_KEYS), _KEY.map(lambda k: f"metrics.{k}")))
    return draw(st.sampled_from(["", "-"])) + key


@st.composite
def columns(draw) -> tuple[str, ...]:
    pool = [k for k in BUILTIN_COLUMNS if k != "id"]
    dynamic = draw(
        _unique(
            st.sampled_from(["metrics.", "properties.", "tags."]).flatmap(
                lambda prefix: _KEY.map(lambda k: prefix + k)
            ),
            max_size=5,
        )
    )
    chosen = draw(st.lists(st.sampled_from(pool), max_size=len(pool), unique=True))
    cols = ("id", *dict.fromkeys([*chosen, *dynamic]))
    return cols[:MAX_COLUMNS] if len(cols) > 1 else DEFAULT_COLUMNS


@st.composite
def charts(draw) -> tuple[ChartSpec, ...]:
    field = st.one_of(_KEY.map(lambda k: f"metrics.{k}"), _KEY.map(lambda k: f"properties.{k}"))
    one = st.one_of(
        st.builds(lambda m, log: {"type": "line", "metric": m, "logY": log}, _KEY, st.booleans()),
        st.builds(lambda m: {"type": "bar", "metric": m}, _KEY),
        st.builds(lambda x, y: {"type": "scatter", "x": x, "y": y}, field, field),
        st.builds(
            lambda dims: {"type": "parallel", "dimensions": dims},
            st.lists(field, min_size=2, max_size=4, unique=True),
        ),
    )
    specs = draw(st.lists(one, max_size=3))
    return parse_charts(specs)


@st.composite
def states(draw) -> ListState:
    day = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)))
    after = draw(st.sampled_from(["", day.isoformat()]))
    before = draw(st.sampled_from(["", (day + timedelta(days=3)).isoformat()]))
    data = {
        "q": draw(st.sampled_from(["", "resnet", "lr sweep", "50%"])),
        "filter": draw(st.sampled_from(["", *FILTERS])),
        "status": list(draw(_unique(st.sampled_from(Status.values)))),
        "experiment": list(draw(_unique(_NAME))),
        "target": list(draw(_unique(_NAME, max_size=2))),
        "submitter": list(draw(_unique(_NAME, max_size=2))),
        "tag": list(
            draw(_unique(st.one_of(_KEY, st.tuples(_KEY, _TEXT).map(":".join)), max_size=3))
        ),
        "created_after": after,
        "created_before": before,
        "sort": draw(sorts()),
        "cols": ",".join(draw(columns())),
        "page": str(draw(st.integers(1, MAX_PAGE))),
        "per_page": str(draw(st.integers(1, MAX_PER_PAGE))),
    }
    state = ListState.parse(data)
    return state.with_(charts=draw(charts()), page=state.page)


def _parse_qs(querystring: str) -> ListState:
    return ListState.parse(QueryDict(querystring.lstrip("?")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_a_state_survives_its_query_string(state):
    assert _parse_qs(state.querystring()) == state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_parse_canonical_query_string_parse_is_the_same_view(state):
    canonical = state.canonical()
    again = ListState.from_canonical(canonical)
    # The canonical form is a fixed point, whichever way it travels.
    assert again.canonical() == canonical
    assert _parse_qs(state_querystring(canonical)).canonical() == canonical
    assert _parse_qs(again.querystring()).canonical() == canonical
    # What a view stores is the list without its page and charts.
    assert again == state.with_(charts=(), page=1).with_(
        filter=canonical.get("filter", ""), q=canonical.get("q", "")
    ).with_(
        statuses=tuple(sorted(set(state.statuses))),
        experiments=tuple(sorted(set(state.experiments))),
        targets=tuple(sorted(set(state.targets))),
        submitters=tuple(sorted(set(state.submitters))),
        tags=tuple(sorted(set(state.tags))),
    )


@settings(max_examples=200, deadline=None)
@given(states(), st.integers(1, 1000))
def test_variations_change_what_they_say_and_nothing_else(state, page):
    assert _parse_qs(state.with_(page=page).querystring()).page == page
    resorted = state.sorted_by("created")
    assert resorted.page == 1
    assert resorted.sort in ("created", "-created")
    assert resorted.with_(sort=state.sort, page=state.page) == state
    for name in ("status", "experiment", "target", "submitter", "tag"):
        for value in state.values_of(name):
            less = _parse_qs(state.without(name, value).querystring())
            assert value not in less.values_of(name)
            assert less.page == 1
    for index in range(len(state.charts)):
        fewer = _parse_qs(state.without_chart(index).querystring())
        assert len(fewer.charts) == len(state.charts) - 1


def test_defaults_print_nothing():
    assert ListState().querystring() == "?"
    assert ListState().canonical() == {}
    assert ListState.parse({}) == ListState()
    assert ListState.parse({"sort": "", "cols": "", "page": ""}).sort == DEFAULT_SORT


def test_unfiltered_keeps_columns_sort_and_page_size_only():
    state = ListState.parse(
        {
            "q": "x",
            "status": "Failed",
            "sort": "-metrics.acc",
            "cols": "id,status",
            "per_page": "25",
        }
    )
    assert state.unfiltered().querystring() == "?sort=-metrics.acc&cols=id%2Cstatus&per_page=25"


@pytest.mark.parametrize(
    ("data", "parameter", "words"),
    [
        ({"q": "a\x01b"}, "q", "control character"),
        ({"q": "x" * 501}, "q", "at most 500 characters"),
        ({"filter": "status ="}, "filter", "position"),
        ({"status": "Exploded"}, "status", "is not a status"),
        ({"experiment": ["x"] * 21}, "experiment", "at most 20 values"),
        ({"tag": ":v"}, "tag", "key or key:value"),
        ({"created_after": "soon"}, "created_after", "ISO date"),
        ({"sort": "password"}, "sort", "cannot sort by"),
        ({"sort": "--created"}, "sort", "cannot sort by"),
        ({"cols": "id,secret"}, "cols", "no column"),
        ({"page": "0"}, "page", "a whole number from 1 to 1,000,000"),
        ({"page": "x"}, "page", "a whole number"),
        ({"per_page": "201"}, "per_page", "a whole number from 1 to 200"),
        ({"charts": "{"}, "charts", "a JSON list of charts"),
        ({"charts": '[{"type": "pie"}]'}, "charts", "charts.0.type"),
        (
            {"created_after": "2026-02-01", "created_before": "2026-01-01"},
            "__all__",
            "earlier than",
        ),
    ],
)
def test_each_bad_parameter_is_named_with_what_is_wrong(data, parameter, words):
    with pytest.raises(ListStateError) as caught:
        ListState.parse(data)
    assert list(caught.value.errors) == [parameter]
    assert words in caught.value.errors[parameter][0]
    assert words in caught.value.message


def test_every_bad_parameter_is_reported_at_once():
    with pytest.raises(ListStateError) as caught:
        ListState.parse({"page": "0", "sort": "nope", "status": "Exploded"})
    assert set(caught.value.errors) == {"page", "sort", "status"}


def test_a_filter_error_says_where():
    with pytest.raises(ListStateError) as caught:
        ListState.parse({"filter": "status = 'Failed' and"})
    assert caught.value.filter_position == len("status = 'Failed' and")
