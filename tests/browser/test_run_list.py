"""The run list in a real browser: search, chips, sort, children, history, bulk tag + undo."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from runs.models import Role, Tag
from runs.status import Status
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
SHOTS = Path("/tmp/shots")  # noqa: S108 - screenshots to look at, not secrets


@pytest.fixture
def world(transactional_db):
    ws = WorkspaceFactory(slug="lab")
    user = UserFactory(username="ada")
    MembershipFactory(workspace=ws, user=user, role=Role.CONTRIBUTOR)
    exp = ExperimentFactory(workspace=ws, name="mnist")
    runs = {
        "resnet": RunFactory(
            experiment=exp, display_name="resnet baseline", status=Status.COMPLETED
        ),
        "vit": RunFactory(experiment=exp, display_name="vit large", status=Status.FAILED),
        "sweep": RunFactory(experiment=exp, display_name="lr sweep", status=Status.RUNNING),
    }
    for i in range(3):
        RunFactory(
            experiment=exp,
            parent=runs["sweep"],
            display_name=f"sweep child {i}",
            status=Status.FAILED if i == 0 else Status.COMPLETED,
        )
    TagFactory(run=runs["resnet"], key="quality", value="great")
    return {"ws": ws, "user": user, "runs": runs}


def _list(world) -> str:
    return reverse("runs:run-list", args=[world["ws"].slug])


def _rows(page):
    return page.locator("#run-table tbody tr.run-row:visible .run-link")


def test_search_filters_the_table_and_pushes_the_url(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    page.fill("#id_q", "vit")
    page.wait_for_url(re.compile(r"\?q=vit$"))
    assert _rows(page).all_inner_texts() == ["vit large"]
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "id_q"


def test_filter_chips_add_and_remove(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    page.click("#run-add-filter summary")
    page.select_option("#run-add-filter select[name=status]", "Completed")
    page.click("#run-add-filter button")
    page.wait_for_url(re.compile(r"status=Completed"))
    chip = page.locator(".chip", has_text="status: Completed")
    chip.wait_for()
    names = _rows(page).all_inner_texts()
    assert "resnet baseline" in names
    assert "vit large" not in names
    chip.locator("a").click()
    page.wait_for_url(re.compile(r"/runs/$"))
    assert page.locator(".chip").count() == 0
    assert len(_rows(page).all_inner_texts()) == 3


def test_sort_by_header(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    page.click("th >> text=Status")
    page.wait_for_url(re.compile(r"sort=-status"))
    page.click("th >> text=Status")
    page.wait_for_url(re.compile(r"sort=status$"))
    # Lifecycle order: Running, Completed, Failed.
    assert _rows(page).all_inner_texts() == ["lr sweep", "resnet baseline", "vit large"]


def test_a_capped_count_is_replaced_by_the_exact_total(logged_in_page, world, monkeypatch):
    import importlib

    selectors = importlib.import_module("runs.selectors.run_list")
    monkeypatch.setattr(selectors, "COUNT_CAP", 1)
    monkeypatch.setattr(selectors, "FEW_MATCHES", 1)
    page = logged_in_page(world["user"])
    page.goto(_list(world) + "?per_page=2")
    count = page.locator("#run-count")
    # "1+ runs" first, then the total from the count request, with the pagination's.
    count.filter(has_text="3 runs").wait_for()
    assert page.locator("#run-pages-total").inner_text() == "3"
    assert page.locator("#run-pages-last").inner_text() == "2"
    assert page.url.endswith("?per_page=2")  # the count request pushes no URL
    page.fill("#id_q", "sweep")
    page.wait_for_url(re.compile(r"q=sweep"))
    count.filter(has_text="1 matching tree").wait_for()


def test_expand_children_then_collapse(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    sweep = world["runs"]["sweep"]
    row = page.locator(f'tr[data-run="{sweep.id}"]')
    assert "3 children: 2 Completed, 1 Failed" in row.inner_text()
    row.locator(".caret").click()
    children = page.locator(f'tr[data-ancestors="{sweep.id}"]')
    children.first.wait_for()
    assert children.count() == 3
    assert page.url.endswith("/runs/")
    row.locator(".caret").click()
    rows = f'tr[data-ancestors="{sweep.id}"]'
    page.wait_for_function(f"() => [...document.querySelectorAll('{rows}')].every(r => r.hidden)")


def test_filter_reveals_matching_child_under_greyed_parent(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world) + "?status=Failed")
    sweep = world["runs"]["sweep"]
    assert "nomatch" in page.locator(f'tr[data-run="{sweep.id}"]').get_attribute("class")
    assert _rows(page).all_inner_texts() == ["lr sweep", "sweep child 0", "vit large"] or (
        _rows(page).all_inner_texts() == ["vit large", "lr sweep", "sweep child 0"]
    )


def test_back_button_restores_the_previous_filter(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world) + "?status=Failed")
    page.locator(".chip a").click()
    page.wait_for_url(re.compile(r"/runs/$"))
    page.go_back()
    page.wait_for_url(re.compile(r"status=Failed"))
    page.locator(".chip", has_text="status: Failed").wait_for()
    assert "lr sweep" in _rows(page).all_inner_texts()


def test_bulk_tag_then_undo(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    vit, resnet = world["runs"]["vit"], world["runs"]["resnet"]
    page.check(f'input[name=runs][value="{vit.id}"]')
    page.check(f'input[name=runs][value="{resnet.id}"]')
    assert page.inner_text("[data-bulk-count]") == "2 selected"
    page.fill("#run-bulk input[name=key]", "quality")
    page.fill("#run-bulk input[name=value]", "meh")
    page.click("#run-bulk button[value=tag-add]")
    toast = page.locator("#toast")
    toast.get_by_text("Tagged 2 runs quality=meh.").wait_for()
    assert dict(Tag.objects.filter(run=resnet).values_list("key", "value")) == {"quality": "meh"}
    toast.get_by_role("button", name="Undo").click()
    page.locator(".bulk-result", has_text="Undone on 2 runs.").wait_for()
    assert dict(Tag.objects.filter(run=resnet).values_list("key", "value")) == {"quality": "great"}
    assert not Tag.objects.filter(run=vit).exists()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(request, live_server, world, scheme):
    browser = request.getfixturevalue("_browser")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 700}, color_scheme=scheme
    )
    page = context.new_page()
    from tests.browser.conftest import login

    login(page, "ada")
    cols = "id,experiment,status,submitter,created,duration,tags,description"
    page.goto(_list(world) + f"?status=Failed&status=Running&cols={cols}")
    page.locator("#run-table").wait_for()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"run_list_{scheme}.png"))
    page.goto(_list(world))
    page.locator(f'tr[data-run="{world["runs"]["sweep"].id}"] .caret').click()
    page.locator(f'tr[data-ancestors="{world["runs"]["sweep"].id}"]').first.wait_for()
    page.click("#run-columns summary")
    page.screenshot(path=str(SHOTS / f"run_list_tree_{scheme}.png"))
    context.close()
    assert (SHOTS / f"run_list_{scheme}.png").stat().st_size > 0


def test_children_hidden_by_the_filter_are_said_and_shown_on_demand(logged_in_page, world):
    parent = world["runs"]["sweep"]
    TagFactory(run=parent, key="best")
    page = logged_in_page(world["user"])
    page.goto(_list(world) + "?tag=best")
    page.locator(f'tr[data-run="{parent.id}"] .caret').click()
    hidden = page.locator("tr.hidden-row")
    hidden.wait_for()
    assert "hidden by the filter" in hidden.inner_text()
    hidden.get_by_text("Show them").click()
    kids = page.locator(f'tr.run-row[data-ancestors~="{parent.id}"]')
    kids.first.wait_for()
    assert kids.count() == parent.children.count()
    assert page.locator("tr.hidden-row").count() == 0


def test_a_chosen_column_lands_in_sight_and_moves(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(_list(world))
    page.click("#run-columns summary")
    page.locator("#run-columns input[value=started]").check()
    page.wait_for_url(re.compile(r"cols=id%2Cstarted%2C"))
    htmx_settled(page)
    headers = page.locator("#run-table thead th").all_inner_texts()
    assert headers[1:3] == ["Run", "Started"]
    page.get_by_label("Move Started right").click()
    page.wait_for_url(re.compile(r"cols=id%2Cexperiment%2Cstarted%2C"))
    htmx_settled(page)
    assert page.locator("#run-table thead th").all_inner_texts()[2:4] == ["Experiment", "Started"]
    # The table fits the 1,400 px window without scrolling the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
