"""Popovers of the run list (+ Filter, Columns, Save view) and toasts, in Chromium."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from runs.models import Role
from runs.status import Status
from tests.browser.conftest import htmx_settled
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    ws = WorkspaceFactory(slug="lab")
    user = UserFactory(username="ada")
    MembershipFactory(workspace=ws, user=user, role=Role.CONTRIBUTOR)
    exp = ExperimentFactory(workspace=ws, name="mnist")
    RunFactory(experiment=exp, display_name="done", status=Status.COMPLETED)
    RunFactory(experiment=exp, display_name="broken", status=Status.FAILED)
    return {"ws": ws, "user": user}


def _open(page, world):
    page.goto(reverse("runs:run-list", args=[world["ws"].slug]))
    htmx_settled(page)


def test_escape_and_a_click_outside_close_a_popover(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    add_filter = page.locator("#run-add-filter")
    page.click("#run-add-filter summary")
    expect(add_filter).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(add_filter).not_to_have_attribute("open", "")
    page.click("#run-add-filter summary")
    page.click("h1")
    expect(add_filter).not_to_have_attribute("open", "")


def test_one_popover_at_a_time(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    page.click("#run-add-filter summary")
    page.click("#run-columns summary")
    expect(page.locator("#run-columns")).to_have_attribute("open", "")
    expect(page.locator("#run-add-filter")).not_to_have_attribute("open", "")


def test_add_filter_closes_its_popover_and_columns_stays_open(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    page.click("#run-add-filter summary")
    page.select_option("#run-add-filter select[name=status]", "Failed")
    page.click("#run-add-filter button")
    page.wait_for_url(re.compile(r"status=Failed"))
    htmx_settled(page)
    expect(page.locator(".chip", has_text="status: Failed")).to_be_visible()
    expect(page.locator("#run-add-filter")).not_to_have_attribute("open", "")
    # Columns change on the fly: the chooser stays open while boxes are ticked.
    page.click("#run-columns summary")
    page.locator("#run-columns input[value=started]").check()
    page.wait_for_url(re.compile(r"cols="))
    htmx_settled(page)
    expect(page.locator("#run-columns")).to_have_attribute("open", "")


def test_a_new_action_clears_an_old_toast(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    page.evaluate("window.studioToast('Tagged 2 runs quality=great.')")
    toast = page.locator("#toast")
    expect(toast).to_be_visible()
    page.fill("#id_filter", "status =")
    page.click("#run-search button")
    expect(page.locator("#run-table .form-errors")).to_be_visible()
    expect(toast).to_be_hidden()
    # The typed filter survives the error (the boxes follow the table after a swap).
    expect(page.locator("#id_filter")).to_have_value("status =")
