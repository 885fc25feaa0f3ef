"""A submitted run's page in a real browser: its output appears and grows while it runs,
and text metrics are a table of values."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from runs import services
from runs.models import Role
from runs.status import Status
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def run(transactional_db):
    user = UserFactory(username="carol")
    MembershipFactory(workspace__slug="team", user=user, role=Role.READER)
    exp = ExperimentFactory(workspace=user.memberships.get().workspace, name="mnist")
    return RunFactory(
        experiment=exp, status=Status.QUEUED, script="train.py", display_name="submitted"
    )


def test_the_output_appears_once_the_script_writes_and_then_grows(browser_page, browser_login, run):
    browser_login(browser_page, "carol")
    browser_page.goto(f"/w/team/runs/{run.pk}/")
    logs = browser_page.locator("#run-logs")
    expect(logs).to_contain_text("The script's output appears here once it starts.")

    services.run_move(run=run, to=Status.RUNNING)
    services.run_log_append(run=run, name="user_logs/std_log.txt", offset=0, data=b"epoch 1\n")
    services.metric_log_batch(
        run=run, series=[services.SeriesIn(name="Status", values=["Training"])]
    )
    expect(logs.locator(".log-text")).to_have_text("epoch 1\n", timeout=10_000)

    services.run_log_append(run=run, name="user_logs/std_log.txt", offset=8, data=b"epoch 2\n")
    expect(logs.locator(".log-text")).to_have_text("epoch 1\nepoch 2\n", timeout=10_000)

    browser_page.reload()
    expect(browser_page.get_by_role("table", name="Values of Status")).to_contain_text("Training")
