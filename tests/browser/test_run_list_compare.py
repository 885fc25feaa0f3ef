"""From the run list to compare: a reader selects three runs and sees a line per run."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from runs import services
from runs.models import Role
from runs.status import Status
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory

pytestmark = pytest.mark.browser


def test_select_three_runs_then_compare_shows_a_line_per_run(logged_in_page, transactional_db):
    user = UserFactory(username="rita")
    membership = MembershipFactory(workspace__slug="team", user=user, role=Role.READER)
    exp = ExperimentFactory(workspace=membership.workspace, name="mnist")
    runs = []
    for i in range(4):
        run = RunFactory(experiment=exp, display_name=f"seed {i}", status=Status.COMPLETED)
        losses = [1.0 / (k + 1 + i) for k in range(200)]
        services.metric_log_batch(run=run, series=[services.SeriesIn(name="loss", values=losses)])
        runs.append(run)
    page = logged_in_page(user)
    page.goto(reverse("runs:run-list", args=["team"]))
    compare = page.locator("#run-bulk [data-compare-url]")
    expect(compare).to_be_disabled()
    for run in runs[:3]:
        page.get_by_label(f"Select {run.pk}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    compare.click()
    page.wait_for_url("**/w/team/compare/?runs=*")
    legend = page.locator("#line-plot .u-legend .u-series")
    expect(legend).to_have_count(4)  # the step row and three runs
    names = set(legend.locator(".u-label").all_text_contents()[1:])
    assert names == {"seed 0", "seed 1", "seed 2"}
