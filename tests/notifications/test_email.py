"""Delivery by email to a real SMTP server on loopback (aiosmtpd): the message as sent,
retries while the server is down, exactly once with two senders."""

from __future__ import annotations

import functools
import re

import pytest

from runs import services, status
from runs.models import LatestMetric, Notification
from runs.notifications.sender import notifications_send_due, retry_delay
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory, TagFactory
from tests.notifications.conftest import later, member, rule
from tests.test_concurrent_writers import run_together


def _failed_run(experiment, owner, **fields):
    run = RunFactory(experiment=experiment, submitted_by=owner, status=Status.QUEUED, **fields)
    status.transition(run, Status.RUNNING)
    LatestMetric.objects.create(run=run, name="loss", value=0.125, step=10, time=run.created)
    LatestMetric.objects.create(run=run, name="acc", value=0.9, step=10, time=run.created)
    services.run_fail(run=run, error_code="CudaOOM", message="out of memory <b>on gpu 0</b>")
    return run


def test_the_email_says_what_happened_and_links_to_the_run(smtp, workspace, owner, experiment):
    rule(workspace, owner, name="Failures", on_failed=True, emails=["ops@example.com"])
    run = _failed_run(experiment, owner, display_name="baseline")

    report = notifications_send_due()

    assert report.sent == 1
    [envelope] = smtp.inbox.envelopes
    assert envelope.mail_from == "studio@example.com"
    assert envelope.rcpt_tos == ["ops@example.com"]
    [message] = smtp.inbox.messages
    assert message["Subject"] == f"[team] mnist: baseline ({run.pk}) Failed"
    assert message["To"] == "ops@example.com"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    link = f"https://studio.example.com/w/team/runs/{run.pk}/"
    for part in (text, html):
        assert link in part
        assert "olga" in part  # the submitter
        assert "CudaOOM" in part
        assert "loss" in part
        assert "0.125" in part
        assert "https://studio.example.com/w/team/settings/alerts/" in part
    assert re.search(r"Duration:\s+\d", text)
    assert "out of memory <b>on gpu 0</b>" in text
    assert "<b>on gpu 0</b>" not in html
    assert "out of memory &lt;b&gt;on gpu 0&lt;/b&gt;" in html
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None


def test_links_never_come_from_a_request_host(smtp, client, workspace, owner, experiment):
    """A status change made through a request to another host name still links to
    STUDIO_BASE_URL."""
    rule(workspace, owner, on_canceled=True, emails=["ops@example.com"])
    run = RunFactory(experiment=experiment, status=Status.QUEUED)
    client.force_login(owner)
    response = client.post(f"/w/team/runs/{run.pk}/cancel/", HTTP_HOST="localhost:9999")
    assert response.status_code == 302
    notifications_send_due()
    [message] = smtp.inbox.messages
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "localhost:9999" not in message.as_string()
    assert f"https://studio.example.com/w/team/runs/{run.pk}/" in body


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "line one\r\nBcc: victim@example.com",
        "quote \" & ' ampersand",
    ],
)
def test_user_written_text_is_escaped(smtp, workspace, owner, experiment, name):
    rule(workspace, owner, on_completed=True, emails=["ops@example.com"])
    run = RunFactory(experiment=experiment, display_name=name)
    TagFactory(run=run, key="note", value="<img src=x onerror=alert(1)>")
    status.transition(run, Status.COMPLETED)
    notifications_send_due()
    [envelope] = smtp.inbox.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]  # no header injection
    [message] = smtp.inbox.messages
    assert "\n" not in message["Subject"]
    assert message["Bcc"] is None
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_smtp_down_retries_then_delivers_exactly_once(smtp, workspace, owner, experiment):
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    run = RunFactory(experiment=experiment)
    smtp.stop()
    status.transition(run, Status.FAILED)

    first = notifications_send_due()
    assert (first.sent, first.retrying) == (0, 1)
    row = Notification.objects.get()
    assert row.state == "pending"
    assert row.attempts == 1
    assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower()
    wait = (row.next_attempt - row.created).total_seconds()
    assert 0 < wait <= 10  # the first retry comes within 10 s

    assert notifications_send_due().sent == 0  # not due yet
    second = notifications_send_due(now=later(12))  # still down: the wait doubles
    assert second.retrying == 1
    row.refresh_from_db()
    assert row.attempts == 2

    smtp.start()
    report = notifications_send_due(now=later(60))
    assert report.sent == 1
    assert notifications_send_due(now=later(3600)).sent == 0
    assert len(smtp.inbox.envelopes) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, "")


def test_retries_back_off_exponentially_to_a_cap(settings):
    settings.STUDIO_NOTIFY_RETRY_SECONDS = 5
    settings.STUDIO_NOTIFY_RETRY_MAX_SECONDS = 3600
    waits = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert waits[:5] == [5, 10, 20, 40, 80]
    assert waits[-1] == 3600
    assert waits == sorted(waits)


def test_after_the_last_attempt_a_notification_is_failed_with_its_error(
    smtp, workspace, owner, experiment, settings
):
    settings.STUDIO_NOTIFY_MAX_ATTEMPTS = 2
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    smtp.stop()
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    notifications_send_due()
    report = notifications_send_due(now=later(30))
    assert report.failed == 1
    row = Notification.objects.get()
    assert row.state == "failed"
    assert row.last_error
    smtp.start()
    assert notifications_send_due(now=later(7200)).sent == 0
    assert smtp.inbox.envelopes == []


def test_a_refused_recipient_is_failed_at_once(smtp, workspace, owner, experiment):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 no such mailbox"

    smtp.inbox.handle_RCPT = refuse
    smtp.stop()
    smtp.start()
    rule(workspace, owner, on_failed=True, emails=["nobody@example.com"])
    status.transition(RunFactory(experiment=experiment), Status.FAILED)
    assert notifications_send_due().failed == 1
    row = Notification.objects.get()
    assert row.state == "failed"
    assert "550" in row.last_error
    assert "nobody@example.com" in row.last_error


@pytest.mark.django_db(transaction=True)
def test_two_senders_deliver_each_notification_once(smtp, workspace, owner):
    experiment = ExperimentFactory(workspace=workspace, name="mnist")
    people = [member(workspace, f"m{i}") for i in range(5)]
    rule(workspace, owner, on_failed=True, members=people)
    runs = [RunFactory(experiment=experiment) for _ in range(6)]
    for run in runs:
        status.transition(run, Status.FAILED)
    assert Notification.objects.count() == 30

    reports = []

    def sender() -> None:
        reports.append(notifications_send_due())

    run_together(*(functools.partial(sender) for _ in range(2)))

    delivered = [(e.rcpt_tos[0], e.original_content) for e in smtp.inbox.envelopes]
    assert len(delivered) == 30
    assert sum(r.sent for r in reports) == 30
    assert Notification.objects.filter(state="sent").count() == 30
    pairs = {(m["To"], m["Subject"]) for m in smtp.inbox.messages}
    assert len(pairs) == 30
