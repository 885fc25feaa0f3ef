"""Saved views in a real browser: filter the list, save it as a shared view with a chart,
open its link as another member (same rows, same chart), change it, save, delete it."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from runs.models import LatestMetric, Role, SavedView
from runs.status import Status
from tests.browser.conftest import login
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.browser
# Words no run id contains, so that the free text finds one run.
NAMES = ("alpha", "bravo", "charlie", "delta")


@pytest.fixture
def team(transactional_db):
    ws = WorkspaceFactory(slug="team")
    for name in ("alice", "bob"):
        MembershipFactory(workspace=ws, user=UserFactory(username=name), role=Role.CONTRIBUTOR)
    exp = ExperimentFactory(workspace=ws, name="mnist")
    statuses = [Status.FAILED, Status.COMPLETED, Status.FAILED, Status.FAILED]
    for i, (status, word) in enumerate(zip(statuses, NAMES, strict=True)):
        run = RunFactory(experiment=exp, status=status, display_name=f"trial {word}")
        LatestMetric.objects.create(
            run=run, name="acc", value=0.5 + i / 10, step=3, time=timezone.now(), count=3
        )
    return ws


@pytest.fixture
def second_page(request, live_server):
    """Another browser context (own cookies) on the live server: a second member."""
    browser = request.getfixturevalue("_browser")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def row_ids(page) -> list[str]:
    return page.locator("#run-table tr.run-row").evaluate_all(
        "rows => rows.map(r => r.dataset.run)"
    )


def test_save_share_open_edit_and_delete_a_view(browser_page, second_page, live_server, team):
    from playwright.sync_api import expect

    page = browser_page
    login(page, "alice")
    page.goto("/w/team/runs/")
    page.fill("#id_filter", "status = 'Failed'")
    page.press("#id_filter", "Enter")
    expect(page).to_have_url(re.compile(r"filter=status"))
    expect(page.locator("#run-table tr.run-row")).to_have_count(3)
    failed = row_ids(page)

    page.click("#view-save summary")
    page.fill("#view-save input[name=name]", "failures")
    page.check("#view-save input[name=share]")
    page.click("#view-save button")
    expect(page.locator("#view-bar h1")).to_have_text("failures")
    expect(page.locator("#view-bar")).to_contain_text("Shared with team")
    assert row_ids(page) == failed

    page.click("#view-add-chart summary")
    page.select_option("#view-add-chart select[name=type]", "bar")
    page.select_option("#view-add-chart select[name=metric]", "acc")
    page.click("#view-add-chart button.btn-primary")
    chart = page.locator("figure.view-chart[data-chart-type=bar]")
    expect(chart).to_have_attribute("data-drawn", "1")
    expect(chart.locator("svg")).to_have_count(1)
    link = page.locator("[data-view-link]").input_value()
    view = SavedView.objects.get(name="failures")
    assert link == f"{live_server.url}/w/team/views/{view.pk}/"

    # Another member opens the link: the same rows, the same chart.
    bob = second_page
    login(bob, "bob")
    bob.goto(link)
    expect(bob.locator("#view-bar h1")).to_have_text("failures")
    expect(bob.locator("#view-bar")).to_contain_text("Made by alice")
    assert row_ids(bob) == failed
    bob_chart = bob.locator("figure.view-chart[data-chart-type=bar]")
    expect(bob_chart).to_have_attribute("data-drawn", "1")
    expect(bob_chart.locator("svg")).to_have_count(1)
    expect(bob.locator("[data-modified]")).to_have_count(0)

    # Changing the list marks the view modified; Save makes it the view.
    bob.fill("#id_q", "delta")
    expect(bob.locator("#run-table tr.run-row")).to_have_count(1)
    expect(bob.locator("[data-modified]")).to_be_visible()
    expect(bob).to_have_url(re.compile(rf"/w/team/views/{view.pk}/list/\?q=delta"))
    bob.click("[data-action=save]")
    expect(bob.locator("#view-bar")).to_contain_text("last changed by bob")
    expect(bob.locator("[data-modified]")).to_have_count(0)
    expect(bob.locator("#run-table tr.run-row")).to_have_count(1)
    view.refresh_from_db()
    assert view.state == {"filter": "status = 'Failed'", "q": "delta"}
    assert view.version == 3

    # Delete, after confirming: the link then says the view was deleted.
    bob.click("[data-action=delete]")
    expect(bob.locator("h1")).to_contain_text("Delete the view “failures”?")
    bob.click("[data-action=confirm-delete]")
    expect(bob.locator(".messages")).to_contain_text("Deleted view 'failures'")
    expect(bob).to_have_url(re.compile(r"/w/team/runs/$"))

    response = page.goto(link)
    assert response.status == 410
    expect(page.locator("h1")).to_have_text("This view was deleted")
    expect(page.locator(".view-gone")).to_contain_text("by bob")
    page.click("text=Go to all runs")
    expect(page.locator("#run-table tr.run-row")).to_have_count(4)


def test_add_a_chart_to_a_plain_list_follow_the_filter_and_save_it(browser_page, team):
    from playwright.sync_api import expect

    page = browser_page
    login(page, "alice")
    page.goto("/w/team/runs/")
    expect(page.locator("#view-charts")).to_be_hidden()
    page.fill("#id_filter", "status = 'Failed'")
    page.press("#id_filter", "Enter")
    expect(page.locator("#run-table tr.run-row")).to_have_count(3)

    page.click("#list-add-chart summary")
    page.select_option("#list-add-chart select[name=type]", "bar")
    page.select_option("#list-add-chart select[name=metric]", "acc")
    page.click("#list-add-chart button.btn-primary")
    # The chart is in the list's URL, with the filter, and draws the failed runs.
    expect(page).to_have_url(re.compile(r"filter=status.*charts="))
    chart = page.locator("figure.view-chart[data-chart-type=bar]")
    expect(chart).to_have_attribute("data-drawn", "1")
    expect(chart.locator("svg")).to_have_count(1)
    assert page.locator("#view-charts").get_attribute("data-runs").count(",") == 2

    # A search narrows the table (htmx) and the chart follows it.
    page.fill("#id_q", "delta")
    expect(page.locator("#run-table tr.run-row")).to_have_count(1)
    expect(page.locator("#view-charts")).to_have_attribute("data-runs", row_ids(page)[0])
    expect(page.locator("figure.view-chart[data-chart-type=bar]")).to_have_attribute(
        "data-drawn", "1"
    )

    page.click("#view-save summary")
    page.fill("#view-save input[name=name]", "failed delta, charted")
    page.click("#view-save button")
    expect(page.locator("#view-bar h1")).to_have_text("failed delta, charted")
    expect(page.locator("figure.view-chart[data-chart-type=bar] svg")).to_have_count(1)
    view = SavedView.objects.get(name="failed delta, charted")
    assert view.charts == [{"type": "bar", "metric": "acc"}]
    assert view.state == {"filter": "status = 'Failed'", "q": "delta"}

    # Back on the plain list, Remove takes the chart out of the URL.
    page.go_back()
    page.go_back()
    expect(page.locator("figure.view-chart")).to_have_count(1)
    page.click("figure.view-chart >> text=Remove")
    expect(page.locator("figure.view-chart")).to_have_count(0)
    assert "charts=" not in page.url


def _shared_view(ws, owner: str, **state) -> SavedView:
    from runs.services import saved_views as view_services

    member = ws.memberships.get(user__username=owner)
    return view_services.saved_view_create(
        actor=member, name="failures", visibility="workspace", state=state
    )


def test_a_header_sort_on_a_view_stays_in_the_view(browser_page, team):
    from playwright.sync_api import expect

    view = _shared_view(team, "alice", status=["Failed"])
    page = browser_page
    login(page, "bob")
    page.goto(f"/w/team/views/{view.pk}/")
    expect(page.locator("#view-bar [data-modified]")).to_have_count(0)
    page.click("#run-table th >> text=Run")
    page.wait_for_url(re.compile(rf"/w/team/views/{view.pk}/list/\?.*sort=-name"))
    expect(page.locator("#view-bar [data-modified]")).to_be_visible()
    expect(page.locator("#view-bar [data-action=save]")).to_be_visible()
    names = page.locator("#run-table tr.run-row .run-link").all_inner_texts()
    assert names == sorted(names, reverse=True)
    # Reset goes back to the view as saved.
    page.click("#view-bar [data-action=reset]")
    page.wait_for_url(re.compile(rf"/w/team/views/{view.pk}/$"))
    expect(page.locator("#view-bar [data-modified]")).to_have_count(0)


def test_all_runs_opens_the_pinned_default_for_its_creator_too(browser_page, team):
    from playwright.sync_api import expect

    from runs.models import Membership

    view = _shared_view(team, "alice", status=["Failed"])
    Membership.objects.filter(workspace=team, user__username="alice").update(role=Role.OWNER)
    page = browser_page
    login(page, "alice")
    page.goto(f"/w/team/views/{view.pk}/")
    page.click("text=Make workspace default")
    expect(page.locator("#view-bar")).to_contain_text("Workspace default")
    page.click("header >> text=Runs")
    expect(page.locator(".view-default-notice")).to_contain_text("the workspace's default view")
    expect(page.locator("#view-bar h1")).to_have_text("failures")
    expect(page.locator("#run-table tr.run-row")).to_have_count(3)
    page.click("#views-menu summary")
    item = page.locator(".views-menu-item", has_text="failures")
    expect(item.locator(".badge")).to_have_text("default")
    page.click(".view-default-notice >> text=Show all runs instead")
    expect(page.locator("#run-table tr.run-row")).to_have_count(4)
