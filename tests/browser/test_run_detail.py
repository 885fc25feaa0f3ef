"""The run page in a real browser: inline tag edit, live description preview, cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from runs import services
from runs.models import Role, Run, Tag
from runs.status import Status
from tests.browser.conftest import htmx_settled
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def contributor(transactional_db):
    user = UserFactory(username="carol")
    MembershipFactory(workspace__slug="team", user=user, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def run(contributor):
    exp = ExperimentFactory(workspace=contributor.memberships.get().workspace, name="mnist")
    run = RunFactory(experiment=exp, display_name="resnet", status=Status.RUNNING)
    services.run_set_tags(run=run, tags={"quality": "good"})
    return run


def open_run(page, login, run) -> None:
    login(page, "carol")
    page.goto(f"/w/team/runs/{run.pk}/")
    expect(page.locator("#run-status")).to_have_text(run.status)


def test_edit_a_tag_inline(browser_page, browser_login, run):
    page = browser_page
    open_run(page, browser_login, run)
    tags = page.locator("#run-tags")
    tags.get_by_role("link", name="Edit tag quality").click()
    form = tags.locator("form.tag-form-edit")
    expect(form).to_be_visible()
    htmx_settled(page)
    form.locator("input[name=value]").fill("fantastic run")
    form.get_by_role("button", name="Save").click()
    expect(tags.locator(".tag-value")).to_have_text("fantastic run")
    expect(tags.locator("form.tag-form-edit")).to_have_count(0)
    assert dict(Tag.objects.filter(run=run).values_list("key", "value")) == {
        "quality": "fantastic run"
    }
    # A bad key is refused in place, with the message next to the form.
    tags.get_by_label("Tag key").fill("bad\tkey")
    tags.get_by_role("button", name="Add tag").click()
    expect(tags.locator(".errorlist")).to_contain_text("control character")
    # The activity region heard `runChanged` and shows who did it.
    expect(page.locator("#run-activity")).to_contain_text("carol")


def test_edit_the_description_with_a_live_preview(browser_page, browser_login, run):
    page = browser_page
    open_run(page, browser_login, run)
    section = page.locator("#run-description")
    section.get_by_role("link", name="Edit description").click()
    textarea = section.locator("textarea[name=description]")
    expect(textarea).to_be_visible()
    htmx_settled(page)
    textarea.fill(
        "# Findings\n\n| lr | acc |\n|---|---|\n| 3e-4 | 0.93 |\n\n<img src=x onerror=alert(1)>"
    )
    preview = page.locator("#description-preview")
    expect(preview.locator("h1")).to_have_text("Findings")
    expect(preview.locator("td").nth(1)).to_have_text("0.93")
    expect(preview.locator("img[onerror]")).to_have_count(0)
    assert Run.objects.get(pk=run.pk).description == ""  # the preview saved nothing
    section.get_by_role("button", name="Save description").click()
    expect(section.locator(".markdown h1")).to_have_text("Findings")
    expect(section.locator("textarea")).to_have_count(0)
    assert Run.objects.get(pk=run.pk).description.startswith("# Findings")


def test_cancel_a_running_run_and_watch_the_badge(browser_page, browser_login, run):
    page = browser_page
    RunFactory.create_batch(2, parent=run, experiment=run.experiment, status=Status.RUNNING)
    open_run(page, browser_login, run)
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.locator("#cancel-run").click()
    badge = page.locator("#run-status")
    expect(badge).to_have_text("Cancel Requested")
    expect(badge).to_have_attribute("data-status", "CancelRequested")
    assert dialogs == ["Cancel this run and 2 unfinished child runs?"]
    expect(page.locator("#run-toolbar button.btn-danger")).to_be_disabled()
    expect(page.locator("#run-children .status-CancelRequested")).to_have_count(2)
    # The run's process notices and stops: the badge polls its way to Canceled.
    services.run_set_status(run=Run.objects.get(pk=run.pk), to=Status.CANCELED)
    expect(badge).to_have_text("Canceled", timeout=10_000)
    expect(badge).to_have_attribute("data-terminal", "true")
    expect(badge).not_to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.locator("#run-activity")).to_contain_text("carol")
    expect(page.locator("#run-overview")).not_to_contain_text("so far")


def test_the_preview_nests_lists_indented_two_spaces(browser_page, browser_login, run):
    page = browser_page
    open_run(page, browser_login, run)
    section = page.locator("#run-description")
    section.get_by_role("link", name="Edit description").click()
    textarea = section.locator("textarea[name=description]")
    expect(textarea).to_be_visible()
    htmx_settled(page)
    textarea.fill("- data\n  - mnist-v2\n  - 10% held out\n- model")
    preview = page.locator("#description-preview")
    expect(preview.locator("ul ul li")).to_have_count(2)
    expect(preview.locator("ul ul li").first).to_have_text("mnist-v2")
    section.get_by_role("button", name="Save description").click()
    expect(section.locator(".markdown ul ul li")).to_have_count(2)
