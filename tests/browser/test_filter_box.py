"""The filter box in Chromium: completion of fields, tag keys and metric names; the help."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from runs.models import LatestMetric, Role
from tests.browser.conftest import htmx_settled
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
def world(transactional_db):
    from django.utils import timezone

    ws = WorkspaceFactory(slug="lab")
    user = UserFactory(username="ada")
    MembershipFactory(workspace=ws, user=user, role=Role.READER)
    exp = ExperimentFactory(workspace=ws, name="mnist")
    run = RunFactory(experiment=exp, display_name="baseline")
    TagFactory(run=run, key="quality", value="great")
    TagFactory(run=run, key="worth another look", value=None)
    LatestMetric.objects.create(
        run=run, name="accuracy", value=0.9, step=1, time=timezone.now(), count=1
    )
    return {"ws": ws, "user": user}


def _open(page, world):
    page.goto(reverse("runs:run-list", args=[world["ws"].slug]))
    htmx_settled(page)


def test_the_filter_box_completes_fields_keys_and_metric_names(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    box = page.locator("#id_filter")
    options = page.locator("#filter-completions [role=option]")
    box.click()
    box.press_sequentially("sta")
    expect(options.first).to_have_text("status")
    box.press("Tab")
    expect(box).to_have_value("status ")
    box.press_sequentially("= 'Fa")
    expect(options.first).to_have_text("Failed")
    box.press("Enter")
    expect(box).to_have_value("status = 'Failed' ")
    box.press_sequentially("and tags.")
    expect(options).to_have_text(["tags.quality", "tags.`worth another look`"])
    box.press("ArrowDown")
    box.press("Enter")
    expect(box).to_have_value("status = 'Failed' and tags.`worth another look` ")
    box.press_sequentially("exists or metrics.acc")
    expect(options).to_have_text(["metrics.accuracy"])
    box.press("Escape")
    expect(page.locator("#filter-completions")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")


def test_the_syntax_help_opens_beside_the_filter(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    page.click("#filter-help summary")
    help_box = page.locator("#filter-help .filter-help-body")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("tags.`worth another look` exists")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()


def test_enter_after_a_whole_filter_applies_it(logged_in_page, world):
    page = logged_in_page(world["user"])
    _open(page, world)
    page.fill("#id_filter", "tags.quality = 'great'")
    page.press("#id_filter", "Enter")
    page.wait_for_url("**filter=tags.quality*")
    expect(page.locator("#filter-completions")).to_be_hidden()
