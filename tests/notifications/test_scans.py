"""'Running longer than N hours' and 'no heartbeat for N minutes': found by the periodic
scan, reported once per run."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core.management import call_command
from django.utils import timezone

from runs.models import Notification
from runs.notifications import outbox
from runs.notifications.sender import notifications_tick
from runs.status import Status
from tests.factories import RunFactory
from tests.notifications.conftest import rule


def test_a_run_running_too_long_is_reported_once(smtp, workspace, owner, experiment):
    rule(workspace, owner, running_hours=4, emails=["ops@example.com"])
    now = timezone.now()
    long = RunFactory(experiment=experiment, started=now - timedelta(hours=5), heartbeat=now)
    RunFactory(experiment=experiment, started=now - timedelta(hours=1), heartbeat=now)
    RunFactory(experiment=experiment, status=Status.COMPLETED, started=now - timedelta(hours=9))
    assert notifications_tick().sent == 1
    assert notifications_tick().sent == 0
    [message] = smtp.inbox.messages
    assert "running for over 4 hours" in message["Subject"]
    row = Notification.objects.get()
    assert (row.run_id, row.event, row.status) == (long.pk, "running_long", "Running")


def test_a_silent_run_is_reported_once(smtp, workspace, owner, experiment):
    rule(workspace, owner, silent_minutes=10, emails=["ops@example.com"])
    now = timezone.now()
    silent = RunFactory(experiment=experiment, started=now, heartbeat=now - timedelta(minutes=11))
    RunFactory(experiment=experiment, started=now, heartbeat=now - timedelta(minutes=2))
    RunFactory(experiment=experiment, status=Status.QUEUED)
    with time_machine.travel(now, tick=False):
        outbox.scan_running()
        outbox.scan_running()
    assert list(Notification.objects.values_list("run_id", "event")) == [
        (silent.pk, "no_heartbeat")
    ]
    with time_machine.travel(now + timedelta(minutes=30), tick=False):
        outbox.scan_running()  # now all three executing runs went quiet; one more
    assert Notification.objects.count() == 2
    notifications_tick()
    assert any("no heartbeat for 10 minutes" in m["Subject"] for m in smtp.inbox.messages)


def test_the_scan_respects_the_rules_conditions(workspace, owner, experiment):
    other_owner_run = RunFactory(experiment=experiment, started=timezone.now() - timedelta(hours=3))
    rule(workspace, owner, running_hours=1, mine_only=True, emails=["ops@example.com"])
    rule(workspace, owner, running_hours=1, filter="status = ", emails=["ops@example.com"])
    outbox.scan_running()
    assert not Notification.objects.filter(run=other_owner_run).exists()


def test_send_notifications_once(smtp, workspace, owner, experiment, capsys):
    from runs import services

    rule(workspace, owner, on_completed=True, emails=["ops@example.com"])
    services.run_complete(run=RunFactory(experiment=experiment))
    call_command("send_notifications")
    assert "1 sent" in capsys.readouterr().out
    assert len(smtp.inbox.envelopes) == 1
