"""The compare page in a real browser: a line per run, hover values, value charts, toggles."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from runs import services
from runs.models import Role
from runs.status import Status
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    user = UserFactory(username="grace")
    membership = MembershipFactory(workspace__slug="team", user=user, role=Role.READER)
    exp = ExperimentFactory(workspace=membership.workspace, name="cifar")
    runs = []
    for i, lr in enumerate(["0.1", "0.01", "0.001"]):
        run = RunFactory(experiment=exp, display_name=f"lr {lr}", status=Status.COMPLETED)
        services.run_set_tags(run=run, tags={"model": "resnet", "seed": str(i % 2)}, record=False)
        services.run_add_properties(run=run, properties={"lr": lr, "epochs": "10"}, record=False)
        n = 5000 + 1000 * i
        loss = [2.0 * math.exp(-k / (800 * (i + 1))) + 0.1 for k in range(n)]
        services.metric_log_batch(
            run=run,
            series=[
                services.SeriesIn(name="loss", values=loss),
                services.SeriesIn(name="acc", values=[0.5 + 0.1 * i]),
            ],
        )
        runs.append(run)
    spare = RunFactory(experiment=exp, display_name="baseline to add", status=Status.FAILED)
    return {"ws": membership.workspace, "user": user, "runs": runs, "spare": spare}


def compare_path(world, runs) -> str:
    url = reverse("runs:compare", args=[world["ws"].slug])
    return f"{url}?runs={','.join(r.pk for r in runs)}"


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_line_chart_draws_one_line_per_run_with_hover_values(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(compare_path(world, world["runs"]))
    legend = page.locator("#line-plot .u-legend .u-series")
    # The step row, then one entry per run, labelled with display names.
    expect(legend).to_have_count(4)
    expect(legend.locator(".u-label")).to_have_text(["step", "lr 0.1", "lr 0.01", "lr 0.001"])
    # Hovering the plot shows each run's value near the cursor's step.
    box = page.locator("#line-plot .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    expect(legend.nth(0).locator(".u-value")).to_have_text(re.compile(r"^\d+$"))
    for k in (1, 2, 3):
        expect(legend.nth(k).locator(".u-value")).to_have_text(re.compile(r"^\d\.\d+$"))
    # Log scale and smoothing redraw the chart and are kept in the link.
    page.locator("#chart-line").get_by_label("Log y").check()
    expect(page.locator("#line-plot .u-legend .u-series")).to_have_count(4)
    page.wait_for_function("location.search.includes('log=1')")
    page.eval_on_selector(
        "#line-smooth",
        "el => { el.value = '0.8'; el.dispatchEvent(new Event('input', {bubbles: true}));"
        " el.dispatchEvent(new Event('change', {bubbles: true})); }",
    )
    expect(page.locator("#line-smooth-value")).to_have_text("0.8")
    page.wait_for_function("location.search.includes('smooth=0.8')")
    assert query_of(page)["log"] == ["1"]
    # The CSV links point at each run's raw series.
    first = world["runs"][0]
    href = page.locator("#line-downloads a").first.get_attribute("href")
    assert href == reverse("runs:metric-csv", args=["team", first.pk, "loss"])


def test_value_charts_have_a_mark_per_run(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(compare_path(world, world["runs"]) + "&dims=properties.lr,metrics.acc")
    expect(page.locator("#bar-plot rect.chart-bar")).to_have_count(3)
    expect(page.locator("#scatter-plot circle.chart-dot")).to_have_count(3)
    expect(page.locator("#parallel-plot path.chart-pc-line")).to_have_count(3)
    # The parallel axes come from the link: lr and acc.
    expect(page.locator("#parallel-plot .chart-pc-axis")).to_have_count(2)
    page.locator("#chart-parallel summary").click()
    page.get_by_role("checkbox", name="epochs").check()
    expect(page.locator("#parallel-plot .chart-pc-axis")).to_have_count(3)
    assert query_of(page)["dims"] == ["properties.epochs,properties.lr,metrics.acc"]
    # A point's tooltip names its run.
    page.locator("#scatter-plot circle.chart-dot").first.hover()
    expect(page.locator("#scatter-plot .chart-tooltip")).to_contain_text("lr 0.1")
    # So does a parallel-coordinates line, which stands out from the others.
    page.locator("#parallel-plot").scroll_into_view_if_needed()
    x, y = page.eval_on_selector_all(
        "#parallel-plot path.chart-pc-hit",
        "els => { const p = els[1]; const q = p.getPointAtLength(p.getTotalLength() / 3);"
        " const m = p.getScreenCTM(); return [q.x * m.a + m.e, q.y * m.d + m.f]; }",
    )
    page.mouse.move(x, y)
    expect(page.locator("#parallel-plot .chart-tooltip")).to_contain_text("lr 0.01")
    expect(page.locator("#parallel-plot path.chart-pc-line.focused")).to_have_count(1)


def test_only_differences_hides_equal_rows(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(compare_path(world, world["runs"]))
    model_row = page.locator('tr[data-field="tags.model"]')
    lr_row = page.locator('tr[data-field="properties.lr"]')
    expect(model_row).to_be_visible()
    page.get_by_label("Only differences").check()
    expect(model_row).to_be_hidden()
    expect(lr_row).to_be_visible()
    page.wait_for_function("location.search.includes('diff=1')")
    page.reload()
    expect(page.get_by_label("Only differences")).to_be_checked()
    expect(model_row).to_be_hidden()


def test_search_adds_a_run_to_the_comparison(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(compare_path(world, world["runs"][:2]))
    expect(page.locator("#line-plot .u-legend .u-series")).to_have_count(3)
    page.fill("#compare-q", "baseline")
    results = page.locator("#compare-search-results li")
    expect(results).to_have_count(1)
    results.get_by_role("link", name="Add baseline to add to the comparison").click()
    expect(page.locator("th.compare-run")).to_have_count(3)
    assert query_of(page)["runs"] == [
        ",".join([world["runs"][0].pk, world["runs"][1].pk, world["spare"].pk])
    ]
    # The added run has no loss: it is in the legend without points.
    expect(page.locator("#line-plot .u-legend .u-series").nth(3)).to_contain_text("no points")


def test_dragging_a_range_fetches_it_in_detail(logged_in_page, world):
    page = logged_in_page(world["user"])
    page.goto(compare_path(world, world["runs"]))
    over = page.locator("#line-plot .u-over")
    expect(over).to_be_visible()
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    with page.expect_response(lambda r: "series.json" in r.url and "start=" in r.url) as info:
        page.mouse.move(box["x"] + box["width"] * 0.2, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
        page.mouse.up()
    zoomed = info.value.json()["runs"]
    assert all(0 < s["total"] < 3000 for s in zoomed)
    note = page.locator("#line-plot .chart-zoom-note")
    expect(note).to_contain_text("double-click the chart for all steps")
    expect(page.locator("#line-plot .u-legend .u-series")).to_have_count(4)
    # A double click brings every step back.
    with page.expect_response(lambda r: "series.json" in r.url and "start=" not in r.url):
        page.locator("#line-plot .u-over").dblclick()
    expect(note).to_have_count(0)
