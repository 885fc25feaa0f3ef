"""Rule matching: statuses, experiment, filter, own runs, a subtree; recipients; and the
outbox written in the status change's transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from runs import services, status
from runs.models import AlertMute, AlertRule, Membership, Notification
from runs.notifications import outbox
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory, TagFactory
from tests.notifications.conftest import member, rule


def outbox_rows():
    return list(Notification.objects.order_by("id").values_list("run_id", "status", "address"))


@pytest.mark.parametrize(
    ("flags", "to", "notified"),
    [
        ({"on_failed": True}, Status.FAILED, True),
        ({"on_failed": True}, Status.COMPLETED, False),
        ({"on_failed": True}, Status.CANCELED, False),
        ({"on_completed": True}, Status.COMPLETED, True),
        ({"on_canceled": True}, Status.CANCELED, True),
        ({"on_canceled": True}, Status.CANCEL_REQUESTED, False),
        ({"on_completed": True, "on_failed": True, "on_canceled": True}, Status.FINALIZING, False),
    ],
)
def test_a_rule_reports_the_statuses_it_names(workspace, owner, experiment, flags, to, notified):
    rule(workspace, owner, emails=["ops@example.com"], **flags)
    run = RunFactory(experiment=experiment)
    status.transition(run, to)
    assert bool(outbox_rows()) is notified


def test_a_rule_reports_only_its_experiment(workspace, owner, experiment):
    rule(workspace, owner, experiment=experiment, on_failed=True, emails=["ops@example.com"])
    other = ExperimentFactory(workspace=workspace, name="other")
    mine, theirs = RunFactory(experiment=experiment), RunFactory(experiment=other)
    status.transition(theirs, Status.FAILED)
    status.transition(mine, Status.FAILED)
    assert [r[0] for r in outbox_rows()] == [mine.pk]


def test_a_rule_reports_the_runs_its_filter_matches_after_the_change(workspace, owner, experiment):
    rule(
        workspace,
        owner,
        filter="tags.team = 'vision' and status = 'Failed'",
        on_failed=True,
        on_completed=True,
        emails=["ops@example.com"],
    )
    vision, nlp, done = (RunFactory(experiment=experiment) for _ in range(3))
    TagFactory(run=vision, key="team", value="vision")
    TagFactory(run=nlp, key="team", value="nlp")
    TagFactory(run=done, key="team", value="vision")
    for run in (vision, nlp):
        status.transition(run, Status.FAILED)
    status.transition(done, Status.COMPLETED)
    assert [r[0] for r in outbox_rows()] == [vision.pk]


def test_a_rule_whose_filter_no_longer_parses_matches_nothing(workspace, owner, experiment):
    rule(workspace, owner, filter="status = ", on_failed=True, emails=["ops@example.com"])
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    assert outbox_rows() == []


def test_submitted_by_me_means_the_rules_owner(workspace, owner, experiment):
    bob = member(workspace, "bob")
    rule(workspace, owner, mine_only=True, on_completed=True, emails=["ops@example.com"])
    own = RunFactory(experiment=experiment, submitted_by=owner)
    bobs = RunFactory(experiment=experiment, submitted_by=bob)
    status.transition(bobs, Status.COMPLETED)
    status.transition(own, Status.COMPLETED)
    assert [r[0] for r in outbox_rows()] == [own.pk]


def test_a_subtree_rule_reports_the_run_and_its_descendants_only(workspace, owner, experiment):
    sweep = RunFactory(experiment=experiment)
    child = RunFactory(experiment=experiment, parent=sweep)
    grandchild = RunFactory(experiment=experiment, parent=child)
    sibling_tree = RunFactory(experiment=experiment)
    rule(workspace, owner, run=sweep, on_failed=True, emails=["ops@example.com"])
    for run in (sibling_tree, grandchild, child, sweep):
        status.transition(run, Status.FAILED)
    assert {r[0] for r in outbox_rows()} == {sweep.pk, child.pk, grandchild.pk}


def test_each_recipient_gets_a_row_and_muted_members_none(workspace, owner, experiment):
    ann, ben = member(workspace, "ann"), member(workspace, "ben")
    no_mail = member(workspace, "nomail", email="")
    made = rule(
        workspace,
        owner,
        on_failed=True,
        members=[ann, ben, no_mail],
        emails=["ops@example.com", "OPS@example.com"],
        webhook="https://hooks.example.com/x",
    )
    AlertMute.objects.create(rule=made, user=ben)
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    rows = Notification.objects.order_by("id")
    assert [(n.channel, n.address) for n in rows] == [
        ("email", "ann@example.com"),
        ("email", "ops@example.com"),
        ("webhook", "https://hooks.example.com/x"),
    ]


def test_all_members_means_the_current_members(workspace, owner, experiment):
    ann = member(workspace, "ann")
    rule(workspace, owner, on_failed=True, all_members=True)
    Membership.objects.filter(user=ann).delete()
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    assert [r[2] for r in outbox_rows()] == ["olga@example.com"]


def test_a_member_who_left_is_not_told(workspace, owner, experiment):
    ann = member(workspace, "ann")
    rule(workspace, owner, on_failed=True, members=[ann])
    rule(workspace, ann, scope=AlertRule.Scope.PERSONAL, on_failed=True)
    Membership.objects.filter(user=ann).delete()
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    assert outbox_rows() == []


def test_a_personal_rule_emails_its_owner(workspace, owner, experiment):
    ann = member(workspace, "ann")
    rule(workspace, ann, scope=AlertRule.Scope.PERSONAL, on_completed=True)
    run = RunFactory(experiment=experiment)
    status.transition(run, Status.COMPLETED)
    assert outbox_rows() == [(run.pk, "Completed", "ann@example.com")]


def test_rules_of_another_workspace_never_match(workspace, owner, experiment):
    elsewhere = ExperimentFactory(name="mnist")  # another workspace, same experiment name
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    status.transition(RunFactory(experiment=elsewhere), Status.FAILED)
    assert outbox_rows() == []


@pytest.mark.django_db(transaction=True)
def test_the_outbox_row_commits_with_the_change_and_a_rollback_writes_none(workspace, owner):
    experiment = ExperimentFactory(workspace=workspace)
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    run = RunFactory(experiment=experiment)
    inside = []

    def fail_then_roll_back() -> None:
        with transaction.atomic():
            status.transition(run, Status.FAILED)
            inside.extend(outbox_rows())  # written inside the transaction
            raise RuntimeError("the change is rolled back")

    with pytest.raises(RuntimeError):
        fail_then_roll_back()
    assert len(inside) == 1
    assert outbox_rows() == []
    run.refresh_from_db()
    assert run.status == Status.RUNNING
    services.run_fail(run=run, message="boom")
    assert outbox_rows() == [(run.pk, "Failed", "ops@example.com")]


def test_a_run_child_waits_for_its_siblings(workspace, owner, experiment, settings):
    settings.STUDIO_NOTIFY_GROUP_SECONDS = 60
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    parent = RunFactory(experiment=experiment)
    child = RunFactory(experiment=experiment, parent=parent)
    status.transition(child, Status.FAILED)
    status.transition(parent, Status.FAILED)
    by_run = {n.run_id: n for n in Notification.objects.all()}
    assert by_run[child.pk].group_key == parent.pk
    assert (by_run[child.pk].next_attempt - by_run[child.pk].created).total_seconds() == 60
    assert by_run[parent.pk].group_key == ""
    assert by_run[parent.pk].next_attempt == by_run[parent.pk].created


def test_a_status_change_without_rules_costs_one_query(
    workspace, experiment, django_assert_num_queries
):
    run = RunFactory(experiment=experiment)
    with django_assert_num_queries(1):
        outbox.status_changed(run=run, status=Status.FAILED)
    with django_assert_num_queries(0):
        outbox.status_changed(run=run, status=Status.RUNNING)
