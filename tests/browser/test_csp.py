"""Every main page under the Content-Security-Policy in Chromium: no violation reported
(no blocked script, style or image), no script error, and the charts drew."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from runs import services
from runs.models import Membership, Role
from runs.services import saved_views as view_services
from runs.services.metrics import SeriesIn
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

# Report every violation into the page, before any of the page's own scripts run.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def world(transactional_db):
    ws = WorkspaceFactory(slug="team")
    owner = UserFactory(username="olga", is_staff=True, is_superuser=True)
    MembershipFactory(workspace=ws, user=owner, role=Role.OWNER)
    exp = ExperimentFactory(workspace=ws, name="mnist")
    runs = []
    for i in range(3):
        run = RunFactory(experiment=exp, status=Status.RUNNING, display_name=f"trial {i}")
        steps = list(range(50))
        loss = [1 / (s + 1 + i) for s in steps]
        services.metric_log_batch(run=run, series=[SeriesIn("loss", loss, steps=steps)])
        services.metric_log_batch(run=run, series=[SeriesIn("acc", [0.5 + i / 10])])
        runs.append(run)
    first = runs[0]
    services.run_update(
        run=first,
        description="# Notes\n\n![curve](/static/demo/learning-curves.svg)\n\n"
        "<img src=https://tracker.example/pixel.gif> [docs](https://example.com)",
    )
    services.run_file_append(run=first, path="user_logs/std_log.txt", data=b"epoch 1\nepoch 2\n")
    services.run_file_upload(run=first, path="outputs/a.txt", content=ContentFile(b"x"))
    membership = Membership.objects.get(workspace=ws, user=owner)
    view = view_services.saved_view_create(
        actor=membership,
        name="board",
        state={},
        charts=[{"type": "line", "metric": "loss"}, {"type": "bar", "metric": "acc"}],
    )
    return {"runs": runs, "view": view}


def _open(page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("load")


def test_every_main_page_runs_under_the_policy(browser_page, live_server, world):
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(LISTEN)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    # Failed loads are told by their responses (the admin has no favicon: Chromium's
    # own request for /favicon.ico is left out).
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{page.url}: {msg.text}")
            if (msg.type == "error" and not msg.text.startswith("Failed to load resource"))
            or "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    violations: dict[str, list[str]] = {}

    def check(path: str) -> None:
        violations[path] = page.evaluate("window.__csp")

    _open(page, "/accounts/login/")
    check("/accounts/login/")
    login(page, "olga")
    runs, view = world["runs"], world["view"]
    ids = ",".join(r.pk for r in runs)

    _open(page, "/w/team/runs/")
    expect(page.locator("#run-table tr.run-row")).to_have_count(3)
    check("run list")

    _open(page, f"/w/team/runs/{runs[0].pk}/")
    expect(page.locator("#run-metrics .chart-plot canvas").first).to_be_visible()
    assert page.locator("#run-metrics .chart-plot canvas").count() >= 2
    expect(page.locator("body")).to_contain_text("epoch 2")  # the live log's tail
    assert page.locator("img[src='/static/demo/learning-curves.svg']").count() == 1
    assert page.locator("img[src*='tracker.example']").count() == 0
    check("run detail")

    _open(page, f"/w/team/compare/?runs={ids}")
    expect(page.locator("#line-plot canvas").first).to_be_visible()
    expect(page.locator("#bar-plot rect.chart-bar")).to_have_count(3)
    check("compare")

    _open(page, f"/w/team/views/{view.pk}/")
    expect(page.locator("#view-charts canvas").first).to_be_visible()
    expect(page.locator("#view-charts rect.chart-bar")).to_have_count(3)
    check("saved view")

    for path in [
        "/w/team/views/",
        "/w/team/",
        "/w/team/settings/members/",
        "/w/team/settings/tokens/",
        "/w/team/settings/alerts/",
        "/w/team/settings/alerts/new/",
        "/w/team/settings/compute/",
        "/",
    ]:
        _open(page, path)
        check(path)

    _open(page, "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Run History Studio API")
    expect(page.locator(".opblock").first).to_be_visible()
    check("API docs")

    _open(page, "/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    _open(page, "/admin/runs/run/")
    expect(page.locator("#result_list")).to_be_visible()
    check("admin")

    assert {path: found for path, found in violations.items() if found} == {}
    assert errors == []


def test_the_policy_blocks_inline_script_and_htmx_evaluates_nothing(browser_page, world):
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(LISTEN)
    login(page, "olga")
    _open(page, "/w/team/runs/")
    page.evaluate(
        """() => {
        document.body.insertAdjacentHTML("beforeend",
          '<img id="probe" src="/static/img/favicon.svg" onload="window.ran = 1">');
        const s = document.createElement("script");
        s.textContent = "window.ran = 2";
        document.body.appendChild(s);
    }"""
    )
    expect(page.locator("#probe")).to_be_attached()
    page.wait_for_function("window.__csp.length >= 2")
    assert page.evaluate("window.ran") is None
    config = page.evaluate(
        "[htmx.config.allowEval, htmx.config.allowScriptTags, htmx.config.includeIndicatorStyles]"
    )
    assert config == [False, False, False]
