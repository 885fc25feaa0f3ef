"""The embedded default: without an SMTP server, mail is written to files under the data
folder, and the Alerts page's Outbox tab shows them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from runs import services
from runs.models import AlertRule
from runs.notifications.mailbox import EmailBackend
from runs.notifications.sender import notifications_send_due
from tests.factories import RunFactory
from tests.notifications.conftest import member, rule


@pytest.fixture
def mailbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "runs.notifications.mailbox.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    return tmp_path / "mail"


def test_each_message_is_a_file_of_its_workspace(mailbox):
    message = mail.EmailMessage("hi", "body", "a@example.com", ["b@example.com"])
    message.extra_headers["X-Studio-Workspace"] = "team"
    assert EmailBackend().send_messages([message]) == 1
    anonymous = mail.EmailMessage("hi", "body", "a@example.com", ["b@example.com"])
    assert EmailBackend().send_messages([anonymous]) == 1
    [path] = (mailbox / "team").iterdir()
    assert path.suffix == ".eml"
    assert b"Subject: hi" in path.read_bytes()
    assert len(list((mailbox / "_other").iterdir())) == 1


def test_a_workspace_name_cannot_escape_the_mail_folder(mailbox):
    message = mail.EmailMessage("hi", "body", "a@example.com", ["b@example.com"])
    message.extra_headers["X-Studio-Workspace"] = "../../etc"
    EmailBackend().send_messages([message])
    assert [p.name for p in mailbox.iterdir()] == ["_other"]


def test_the_outbox_tab_shows_the_workspaces_mail(
    mailbox, owner_client, reader_client, workspace, experiment
):
    owner = owner_client.user
    reader_client.user.email = "reader@example.com"
    reader_client.user.save()
    rule(workspace, owner, name="all", on_failed=True, emails=["ops@example.com"])
    rule(workspace, reader_client.user, scope=AlertRule.Scope.PERSONAL, on_failed=True)
    services.run_fail(
        run=RunFactory(experiment=experiment, display_name="<i>baseline</i>"), message="boom"
    )
    assert notifications_send_due().sent == 2
    url = reverse("runs:alert-outbox", args=[workspace.slug])

    owners = owner_client.get(url).content.decode()
    assert owners.count('class="outbox-item') == 2
    assert "&lt;i&gt;baseline&lt;/i&gt;" in owners
    assert "<i>baseline</i>" not in owners
    assert 'sandbox=""' in owners

    readers = reader_client.get(url).content.decode()
    assert readers.count('class="outbox-item') == 1
    assert "to reader@example.com" in readers


def test_the_outbox_tab_of_another_workspace_is_404(mailbox, outsider_client, workspace):
    url = reverse("runs:alert-outbox", args=[workspace.slug])
    assert outsider_client.get(url).status_code == 404


def test_with_smtp_configured_the_outbox_tab_says_so(settings, owner_client, workspace):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    page = owner_client.get(reverse("runs:alert-outbox", args=[workspace.slug]))
    assert "only when no mail server is configured" in page.content.decode()


def test_members_without_rules_see_an_empty_outbox(mailbox, reader_client, workspace):
    member(workspace, "ann")
    page = reader_client.get(reverse("runs:alert-outbox", args=[workspace.slug]))
    assert "No email yet" in page.content.decode()
