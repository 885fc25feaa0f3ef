"""Alerts in a real browser: 'Alert me' on a saved view's page opens the rule editor with
the view's conditions; the rule is saved, and a failing run of the view is mailed."""

from __future__ import annotations

import pytest

from runs import services
from runs.models import AlertRule, Membership, Role
from runs.notifications.sender import notifications_send_due
from runs.services import saved_views as view_services
from tests.browser.conftest import login
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    TagFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def view(transactional_db):
    ws = WorkspaceFactory(slug="team")
    alice = UserFactory(username="alice", email="alice@example.com")
    MembershipFactory(workspace=ws, user=alice, role=Role.CONTRIBUTOR)
    ExperimentFactory(workspace=ws, name="mnist")
    membership = Membership.objects.get(user=alice)
    return view_services.saved_view_create(
        actor=membership,
        name="vision runs",
        state={"experiment": ["mnist"], "tag": ["team:vision"]},
    )


def test_a_rule_from_a_saved_view(browser_page, view, settings, tmp_path):
    from playwright.sync_api import expect

    settings.EMAIL_BACKEND = "runs.notifications.mailbox.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    page = browser_page
    login(page, "alice")
    page.goto(f"/w/team/views/{view.pk}/")
    page.get_by_role("link", name="Alert me").click()

    expect(page.get_by_role("heading", name="New alert rule")).to_be_visible()
    expect(page.locator("input[name=name]")).to_have_value("Runs of vision runs")
    expect(page.locator("input[name=filter]")).to_have_value("tags.team = 'vision'")
    expect(page.locator("select[name=experiment]")).to_have_value("mnist")
    expect(page.locator("input[name=statuses][value=Failed]")).to_be_checked()
    page.locator("input[name=statuses][value=Canceled]").check()
    page.get_by_role("button", name="Create the rule").click()

    expect(page.get_by_role("heading", name="Runs of vision runs")).to_be_visible()
    expect(page.locator(".kv")).to_contain_text("matching tags.team = 'vision'")
    rule = AlertRule.objects.get()
    assert (rule.scope, rule.owner.username) == ("personal", "alice")
    assert rule.statuses == ["Failed", "Canceled"]

    matching = RunFactory(experiment=rule.experiment, display_name="vision trial")
    TagFactory(run=matching, key="team", value="vision")
    other = RunFactory(experiment=rule.experiment, display_name="nlp trial")
    services.run_fail(run=matching, message="loss is nan")
    services.run_fail(run=other)
    assert notifications_send_due().sent == 1

    page.get_by_role("link", name="Outbox").click()
    item = page.locator(".outbox-item").first
    expect(item).to_contain_text("mnist: vision trial")
    expect(item).to_contain_text("to alice@example.com")
    page.get_by_role("link", name="Rules").click()
    expect(page.locator("#alert-rules")).to_contain_text("1 sent")
