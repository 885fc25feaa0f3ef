"""runs.writes: the rows a statement written once inserts or updates are those the
ORM writes (bulk_create, update), field by field, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.models import LatestMetric, MetricBatch, MetricChunk, Run, RunEvent, Tag
from runs.writes import Insert, Update
from tests.factories import ExperimentFactory, RunFactory, UserFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _fields(instance, *, skip=("id",)) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in skip
    }


def _run(experiment, run_id: str, **extra) -> Run:
    return Run(
        id=run_id,
        workspace_id=experiment.workspace_id,
        experiment=experiment,
        root_id=run_id,
        display_name="trial ünïcode 'quoted'",
        status="Running",
        submitted_by=UserFactory(),
        created=WHEN,
        started=WHEN,
        arguments=["--lr", 0.1, {"nested": [1, None]}],
        error_details=None,
        **extra,
    )


def test_a_run_inserted_is_the_run_bulk_create_writes():
    experiment = ExperimentFactory()
    Insert(Run).save([_run(experiment, "a_1", search_text="a b")])
    Run.objects.bulk_create([_run(experiment, "b_1", search_text="a b")])

    written, reference = Run.objects.get(pk="a_1"), Run.objects.get(pk="b_1")
    skip = ("id", "root_id", "submitted_by_id")
    assert _fields(written, skip=skip) == _fields(reference, skip=skip)
    assert written.arguments == ["--lr", 0.1, {"nested": [1, None]}]
    assert written.error_details is None
    # SQL NULL, as the ORM stores None (not the JSON null)
    assert Run.objects.filter(pk="a_1", error_details__isnull=True).exists()
    assert written.created == WHEN
    assert written.ended is None


def test_rows_with_nulls_bytes_and_datetimes_match_bulk_create():
    run = RunFactory()
    actor = UserFactory()
    cases = [
        (Tag, lambda key: Tag(run=run, key=key, value=None)),
        (
            RunEvent,
            lambda key: RunEvent(run=run, actor=actor, kind="tag", field=key, old=None, new="x"),
        ),
        (MetricBatch, lambda key: MetricBatch(run=run, key=key, points=300, created=WHEN)),
        (
            MetricChunk,
            lambda key: MetricChunk(
                run=run,
                name=key,
                seq=0,
                count=2,
                first_step=0,
                last_step=1,
                steps=b"\x00\x01\xff",
                values=b"",
                times=bytes(range(256)),
            ),
        ),
        (
            LatestMetric,
            lambda key: LatestMetric(run=run, name=key, value=None, step=-1, time=WHEN, count=0),
        ),
    ]
    for model, make in cases:
        Insert(model).save([make("written"), make("written too")])
        model.objects.bulk_create([make("reference")])
        key = "key" if model in (Tag, MetricBatch) else "field" if model is RunEvent else "name"
        rows = {getattr(row, key): row for row in model.objects.filter(run=run)}
        skip = ("id", key, "created") if model is RunEvent else ("id", key)
        assert _fields(rows["written"], skip=skip) == _fields(rows["reference"], skip=skip)
        assert _fields(rows["written too"], skip=skip) == _fields(rows["reference"], skip=skip)


def test_inserted_instances_are_saved_ones_in_one_statement():
    run = RunFactory()
    tags = [Tag(run=run, key=f"k{n}", value=str(n)) for n in range(3)]
    with CaptureQueriesContext(connection) as ctx:
        Insert(Tag).save(tags)
    assert len(ctx.captured_queries) == 1
    assert all(not tag._state.adding and tag._state.db == "default" for tag in tags)
    with CaptureQueriesContext(connection) as ctx:
        Insert(Tag).save([])
    assert ctx.captured_queries == []


def test_an_update_writes_the_fields_named_as_update_does():
    run = RunFactory()
    written = LatestMetric.objects.create(run=run, name="a", value=1.0, step=0, time=WHEN)
    reference = LatestMetric.objects.create(run=run, name="b", value=1.0, step=0, time=WHEN)
    later = datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    written.value, written.step, written.time, written.count = None, 99, later, 7
    written.text = "not written: not among the fields"
    Update(LatestMetric, ("value", "step", "time", "count")).save(written)
    LatestMetric.objects.filter(pk=reference.pk).update(value=None, step=99, time=later, count=7)

    written.refresh_from_db()
    reference.refresh_from_db()
    assert _fields(written, skip=("id", "name")) == _fields(reference, skip=("id", "name"))
    assert written.text is None


def test_an_insert_skipping_conflicts_says_how_many_rows_it_wrote():
    run = RunFactory()
    claim = Insert(MetricBatch, skip_conflicts=True)
    assert claim.save([MetricBatch(run=run, key="k", points=3)]) == 1
    # no IntegrityError, so no savepoint is needed around it; the transaction goes on
    assert claim.save([MetricBatch(run=run, key="k", points=3)]) == 0
    other = RunFactory()
    both = [MetricBatch(run=run, key="k", points=3), MetricBatch(run=other, key="k", points=3)]
    assert claim.save(both) == 1
    assert MetricBatch.objects.filter(key="k").count() == 2
