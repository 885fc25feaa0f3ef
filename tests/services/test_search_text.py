"""A tag change rewrites only the tags at the end of a run's search text."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs import services
from runs.models import Run, run_search_text
from tests.factories import RunFactory


def expected(run: Run) -> str:
    run = Run.objects.select_related("experiment", "submitted_by").get(pk=run.pk)
    return run_search_text(
        run_id=run.pk,
        display_name=run.display_name,
        description=run.description,
        experiment=run.experiment.name,
        submitter=run.submitted_by.username if run.submitted_by else None,
        tags=dict(sorted(run.tags.values_list("key", "value"))),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "then", "remove"),
    [
        ({}, {"Quality": "GREAT"}, []),
        ({"a": "1"}, {"a": "2"}, []),
        ({"a": "1", "b": None}, {}, ["a"]),
        ({"a": "1"}, {}, ["a"]),
        ({"z": "x"}, {"a": "", "m": "İstanbul"}, []),
    ],
    ids=["first tag", "changed value", "one of two removed", "last removed", "unicode"],
)
def test_search_text_follows_the_tags(first, then, remove):
    run = RunFactory(display_name="Baseline", description="Some *notes*")
    services.run_set_tags(run=run, tags=first)
    services.run_set_tags(run=run, tags=then, remove=remove)
    assert Run.objects.get(pk=run.pk).search_text == expected(run)


@pytest.mark.django_db
@pytest.mark.parametrize("stale", ["stale", "", "1", "\nA\n1"])
def test_a_text_written_some_other_way_is_rebuilt(stale):
    run = RunFactory(display_name="Baseline")
    services.run_set_tags(run=run, tags={"a": "1"})
    Run.objects.filter(pk=run.pk).update(search_text=stale)
    services.run_set_tags(run=run, tags={"b": "2"})
    assert Run.objects.get(pk=run.pk).search_text == expected(run)


@pytest.mark.django_db
def test_a_tag_change_does_not_read_the_run_back():
    run = RunFactory(display_name="Baseline")
    services.run_set_tags(run=run, tags={"a": "1"})
    with CaptureQueriesContext(connection) as ctx:
        services.run_set_tags(run=run, tags={"a": "2"})
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not [q for q in sql if q.startswith('SELECT "runs_run"')], sql
    assert sum(q.startswith('UPDATE "runs_run"') for q in sql) == 1
