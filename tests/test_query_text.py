"""The filter language on text metrics: equality with a text series' latest value."""

from __future__ import annotations

import pytest

from runs import query, services
from runs.models import Run
from tests.factories import ExperimentFactory, RunFactory


@pytest.fixture
def runs(db):
    experiment = ExperimentFactory()
    made = {}
    for name, message, acc in [("hello", "Hello", 0.9), ("bye", "Bye", 0.5), ("none", None, 0.1)]:
        run = RunFactory(experiment=experiment, display_name=name)
        series = [services.SeriesIn(name="acc", values=[acc])]
        if message is not None:
            series.append(services.SeriesIn(name="message", values=["first", message]))
        services.metric_log_batch(run=run, series=series)
        made[name] = run
    return made


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.message = 'Hello'", {"hello"}),
        ("metrics.message = 'first'", set()),  # the latest value counts
        ("metrics.message != 'Hello'", {"bye"}),
        ("metrics.message in ('Hello', 'Bye')", {"hello", "bye"}),
        ("metrics.message not in ('Hello')", {"bye"}),
        ("metrics.message exists", {"hello", "bye"}),
        ("metrics.acc = 'Hello'", set()),
        ("metrics.acc >= 0.5", {"hello", "bye"}),
        ("metrics.acc in (0.9, 'x')", {"hello"}),
        ("metrics.acc not in (0.9)", {"bye", "none"}),
        ("metrics.message = 'Hello' or metrics.acc < 0.2", {"hello", "none"}),
    ],
)
def test_text_equality(runs, text, expected):
    node = query.parse(text)
    found = set(Run.objects.filter(query.to_q(node)).values_list("display_name", flat=True))
    assert found == expected
    assert query.parse(query.describe(node)) == node


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_text_compares_only_for_equality(op):
    with pytest.raises(query.QueryError, match="compares with text only with =, != and in"):
        query.parse(f"metrics.message {op} 'Hello'")
