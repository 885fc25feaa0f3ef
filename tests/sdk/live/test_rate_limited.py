"""The SDK survives the API's request budget: 429s are waited out (Retry-After) and
sent again, and every point is stored once."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from runs.api import throttle
from runs.models import LatestMetric, Run, Tag
from runs.sdk import Experiment
from runs.services.metrics import metric_series


@pytest.fixture
def small_budget(settings, monkeypatch) -> list[int]:
    """A budget of 10 requests a second; the 429s answered are counted."""
    settings.STUDIO_API_RATE_LIMIT = 10
    settings.STUDIO_API_RATE_WINDOW = 1.0
    cache.clear()
    refused: list[int] = []
    spend = throttle.seconds_to_wait

    def counted(token, now=None):
        wait = spend(token, now)
        if wait is not None:
            refused.append(wait)
        return wait

    monkeypatch.setattr(throttle, "seconds_to_wait", counted)
    yield refused
    cache.clear()


def test_a_run_logs_through_429s_and_loses_nothing(ws, small_budget):
    exp = Experiment(workspace=ws, name="throttled")
    with exp.start_logging() as run:
        for step in range(3000):
            run.log("loss", 1 / (step + 1), step=step)
            if step % 100 == 0:
                run.tag(f"seen{step:04d}", "yes")  # a request each: 30 spend the budget thrice
    assert small_budget, "the budget was never spent: the test proved nothing"
    assert set(small_budget) == {1}  # Retry-After: the rest of the one-second window
    stored = Run.objects.get(pk=run.id)
    assert stored.status == "Completed"
    latest = LatestMetric.objects.get(run=stored, name="loss")
    assert (latest.count, latest.step) == (3000, 2999)
    steps = metric_series(run=stored, name="loss")["steps"]
    assert steps == list(range(3000))  # each point once, in order
    keys = sorted(Tag.objects.filter(run=stored).values_list("key", flat=True))
    assert keys == [f"seen{step:04d}" for step in range(0, 3000, 100)]
