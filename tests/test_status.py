"""The status machine: every allowed and every refused move."""

import itertools

import pytest
from django.db import transaction

from runs import status
from runs.exceptions import InvalidTransition
from runs.models import RunEvent
from runs.status import ALLOWED, TERMINAL, Status
from tests.factories import RunFactory

S = Status
EXPECTED = {
    S.NOT_STARTED: {
        S.QUEUED,
        S.PREPARING,
        S.STARTING,
        S.RUNNING,
        S.FINALIZING,
        S.COMPLETED,
        S.FAILED,
        S.CANCELED,
    },
    S.QUEUED: {S.PREPARING, S.STARTING, S.RUNNING, S.FINALIZING, S.COMPLETED, S.FAILED, S.CANCELED},
    S.PREPARING: {
        S.STARTING,
        S.RUNNING,
        S.FINALIZING,
        S.COMPLETED,
        S.FAILED,
        S.CANCEL_REQUESTED,
        S.CANCELED,
    },
    S.STARTING: {S.RUNNING, S.FINALIZING, S.COMPLETED, S.FAILED, S.CANCEL_REQUESTED, S.CANCELED},
    S.RUNNING: {S.FINALIZING, S.COMPLETED, S.FAILED, S.CANCEL_REQUESTED, S.CANCELED},
    S.FINALIZING: {S.COMPLETED, S.FAILED, S.CANCEL_REQUESTED, S.CANCELED},
    S.CANCEL_REQUESTED: {S.CANCELED, S.FAILED},
    S.COMPLETED: {S.FAILED},
    S.FAILED: set(),
    S.CANCELED: set(),
}


def test_the_table_is_the_documented_machine():
    assert {k: set(v) for k, v in ALLOWED.items()} == EXPECTED


@pytest.mark.parametrize(("src", "dst"), [(a, b) for a in S for b in sorted(EXPECTED[a])])
@pytest.mark.django_db
def test_allowed_move_changes_status_and_records_it(src, dst):
    run = RunFactory(status=src)
    status.transition(run, dst)
    run.refresh_from_db()
    assert run.status == dst
    event = RunEvent.objects.get(run=run)
    assert (event.old, event.new) == (src, dst)
    if dst in TERMINAL:
        assert run.ended is not None


@pytest.mark.parametrize(
    ("src", "dst"), [(a, b) for a, b in itertools.product(S, S) if b not in EXPECTED[a]]
)
@pytest.mark.django_db
def test_refused_move_names_both_statuses_and_changes_nothing(src, dst):
    run = RunFactory(status=src)
    with pytest.raises(InvalidTransition) as exc:
        status.transition(run, dst)
    assert src in str(exc.value)
    assert dst in str(exc.value)
    run.refresh_from_db()
    assert run.status == src
    assert not RunEvent.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_the_stored_status_decides_not_the_stale_object():
    run = RunFactory(status=S.RUNNING)
    stale = type(run).objects.get(pk=run.pk)
    status.transition(run, S.COMPLETED)
    with pytest.raises(InvalidTransition):
        status.transition(stale, S.COMPLETED)


@pytest.mark.django_db
def test_fail_records_the_error():
    run = RunFactory(status=S.RUNNING)
    status.transition(
        run, S.FAILED, error={"code": "OOM", "message": "out of memory", "details": {"gb": 80}}
    )
    run.refresh_from_db()
    assert run.error_document() == {"code": "OOM", "message": "out of memory"}
    assert run.error_details == {"gb": 80}


@pytest.mark.django_db
def test_first_executing_status_stamps_started_once():
    run = RunFactory(status=S.QUEUED, started=None)
    status.transition(run, S.PREPARING)
    first = run.started
    assert first is not None
    status.transition(run, S.RUNNING)
    run.refresh_from_db()
    assert run.started == first


@pytest.mark.django_db
def test_a_move_inside_a_transaction_takes_no_savepoint_and_a_refusal_leaves_it_usable(
    django_assert_num_queries,
):
    run = RunFactory(status=S.RUNNING)
    with transaction.atomic():
        # the status read, the run written, its activity row, the alert rules asked
        with django_assert_num_queries(4):
            status.transition(run, S.COMPLETED)
        with pytest.raises(InvalidTransition):
            status.transition(run, S.RUNNING)
        # the caller's transaction goes on after the refusal
        assert RunEvent.objects.filter(run=run).count() == 1
    run.refresh_from_db()
    assert run.status == S.COMPLETED


@pytest.mark.django_db
def test_a_run_deleted_meanwhile_is_does_not_exist_and_the_transaction_goes_on():
    run = RunFactory(status=S.RUNNING)
    other = RunFactory(status=S.RUNNING)
    type(run).objects.filter(pk=run.pk).delete()
    with transaction.atomic():
        with pytest.raises(type(run).DoesNotExist, match=run.pk):
            status.transition(run, S.COMPLETED)
        status.transition(other, S.COMPLETED)
    other.refresh_from_db()
    assert other.status == S.COMPLETED
