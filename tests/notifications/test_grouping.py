"""A storm is grouped: the children of one parent that change status within
STUDIO_NOTIFY_GROUP_SECONDS go out as one message per rule and recipient."""

from __future__ import annotations

from runs import services, status
from runs.models import Notification
from runs.notifications.sender import notifications_send_due
from runs.status import Status
from tests.factories import RunFactory
from tests.notifications.conftest import later, rule


def test_200_failing_children_are_one_email(smtp, workspace, owner, experiment, settings):
    settings.STUDIO_NOTIFY_GROUP_SECONDS = 60
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    sweep = RunFactory(experiment=experiment, display_name="lr sweep")
    children = services.run_create_children(parent=sweep, count=200)
    for child in children:
        services.run_fail(run=child, error_code="Diverged", message="loss is nan")
    assert Notification.objects.count() == 200

    assert notifications_send_due().sent == 0  # the window is still open
    report = notifications_send_due(now=later(61))

    assert report.sent == 1
    [message] = smtp.inbox.messages
    assert message["Subject"] == f"[team] mnist: 200 runs under lr sweep ({sweep.pk}) Failed"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"{children[0].pk}" in text
    assert "and 150 more" in text  # 50 listed by name
    assert f"https://studio.example.com/w/team/runs/{sweep.pk}/" in text
    assert Notification.objects.filter(state="sent").count() == 200
    assert notifications_send_due(now=later(600)).sent == 0


def test_each_recipient_and_rule_gets_its_own_grouped_message(smtp, workspace, owner, experiment):
    rule(workspace, owner, name="a", on_failed=True, emails=["a@example.com", "b@example.com"])
    rule(workspace, owner, name="b", on_failed=True, on_canceled=True, emails=["a@example.com"])
    sweep = RunFactory(experiment=experiment, display_name="")
    children = services.run_create_children(parent=sweep, count=10)
    for child in children[:6]:
        services.run_fail(run=child)
    for child in children[6:]:
        status.transition(child, Status.CANCELED)
    notifications_send_due(now=later(61))
    subjects = sorted((m["To"], m["Subject"]) for m in smtp.inbox.messages)
    assert subjects == [
        ("a@example.com", f"[team] mnist: 10 runs under {sweep.pk} 6 Failed, 4 Canceled"),
        ("a@example.com", f"[team] mnist: 6 runs under {sweep.pk} Failed"),
        ("b@example.com", f"[team] mnist: 6 runs under {sweep.pk} Failed"),
    ]


def test_children_after_the_window_make_the_next_message(smtp, workspace, owner, experiment):
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    sweep = RunFactory(experiment=experiment)
    first, second = services.run_create_children(parent=sweep, count=2)
    services.run_fail(run=first)
    Notification.objects.update(created=later(-120), next_attempt=later(-60))
    services.run_fail(run=second)
    assert notifications_send_due().sent == 1  # the first window, alone
    assert notifications_send_due(now=later(61)).sent == 1
    assert len(smtp.inbox.envelopes) == 2


def test_a_lone_top_level_run_goes_at_once(smtp, workspace, owner, experiment):
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().sent == 1


def test_a_grouped_message_costs_the_same_queries_for_5_or_200_runs(
    smtp, workspace, owner, experiment, django_assert_max_num_queries
):
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    counts = []
    for size in (5, 200):
        sweep = RunFactory(experiment=experiment)
        for child in services.run_create_children(parent=sweep, count=size):
            services.run_fail(run=child)
        # due rows, claim, the claimed rows, runs + tags + properties + metrics, sent
        with django_assert_max_num_queries(8) as captured:
            assert notifications_send_due(now=later(61)).sent == 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
