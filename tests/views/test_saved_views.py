"""Saved views in the studio: the page shows the list as saved, modified state, writes,
permissions, the tombstone, the default view, and what opening a view costs."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import LatestMetric, Role, SavedView, Workspace
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import ExperimentFactory, MembershipFactory, RunFactory, UserFactory

HX = {"HX-Request": "true"}
SHARED, PRIVATE = SavedView.Visibility.WORKSPACE, SavedView.Visibility.PRIVATE


def membership(client, workspace):
    return client.user.memberships.get(workspace=workspace)


def view_url(view, suffix: str = "") -> str:
    url = reverse("runs:saved-view", args=[view.workspace.slug, view.pk])
    return url + suffix


def shown_ids(response) -> list[str]:
    return [row.run.id for row in response.context["page"].rows]


@pytest.fixture
def runs(workspace):
    """Two experiments: failed and completed runs, with an accuracy metric."""
    mnist = ExperimentFactory(workspace=workspace, name="mnist")
    cifar = ExperimentFactory(workspace=workspace, name="cifar")
    out = {}
    for i, (exp, status) in enumerate(
        [
            (mnist, Status.FAILED),
            (mnist, Status.COMPLETED),
            (cifar, Status.FAILED),
            (cifar, Status.COMPLETED),
        ]
    ):
        run = RunFactory(experiment=exp, status=status, display_name=f"{exp.name}-{status}")
        LatestMetric.objects.create(
            run=run, name="acc", value=0.5 + i / 10, step=1, time=timezone.now(), count=1
        )
        out[(exp.name, status)] = run
    return out


@pytest.fixture
def shared_view(contributor_client, workspace, runs):
    return view_services.saved_view_create(
        actor=membership(contributor_client, workspace),
        name="failures by accuracy",
        visibility=SHARED,
        state={"status": ["Failed"], "sort": "-metrics.acc", "cols": "id,status,metrics.acc"},
        charts=[{"type": "bar", "metric": "acc"}],
    )


# --- opening -------------------------------------------------------------------------


def test_a_view_shows_the_list_exactly_as_saved(reader_client, shared_view, runs):
    response = reader_client.get(view_url(shared_view))
    assert response.status_code == 200
    assert shown_ids(response) == [runs[("cifar", "Failed")].id, runs[("mnist", "Failed")].id]
    assert [c.key for c in response.context["columns"]] == ["id", "status", "metrics.acc"]
    assert response.context["state"].sort == "-metrics.acc"
    assert response.context["modified"] is False
    html = response.content.decode()
    assert "failures by accuracy" in html
    assert "data-charts=" in html
    assert "&quot;metric&quot;: &quot;acc&quot;" in html
    assert "<script" not in html.split('id="view-charts"')[1].split("</section>")[0]
    assert "Made by contributor" in html
    # The list's controls lead to the view's list URL, not to the plain run list.
    list_path = reverse("runs:saved-view-list", args=["team", shared_view.pk])
    assert f'action="{list_path}"' in html


def test_the_same_state_on_the_run_list_shows_the_same_rows(reader_client, shared_view):
    plain = reader_client.get(
        reverse("runs:run-list", args=["team"])
        + "?status=Failed&sort=-metrics.acc&cols=id,status,metrics.acc"
    )
    view = reader_client.get(view_url(shared_view))
    assert shown_ids(plain) == shown_ids(view)


def test_changing_the_list_in_a_view_marks_it_modified(reader_client, shared_view, runs):
    list_url = reverse("runs:saved-view-list", args=["team", shared_view.pk])
    response = reader_client.get(list_url + "?status=Failed&experiment=mnist", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="view-bar" class="view-bar card" hx-swap-oob="true"' in html
    assert "data-modified" in html
    assert shown_ids(response) == [runs[("mnist", "Failed")].id]
    assert response["HX-Push-Url"] == list_url + "?status=Failed&experiment=mnist"
    # The Save form carries the list's state; Reset goes back to the saved view.
    assert 'name="state" value="status=Failed&amp;experiment=mnist"' in html
    assert f'href="{view_url(shared_view)}" data-action="reset"' in html


def test_the_saved_state_on_the_list_url_is_not_modified(reader_client, shared_view):
    list_url = reverse("runs:saved-view-list", args=["team", shared_view.pk])
    query = "?cols=id,status,metrics.acc&sort=-metrics.acc&status=Failed&page=1"
    response = reader_client.get(list_url + query)
    assert response.context["modified"] is False
    cleared = reader_client.get(list_url)  # "Clear all" in a view: no condition at all
    assert cleared.context["modified"] is True
    assert len(shown_ids(cleared)) == 4


def test_bad_parameters_in_a_view_get_a_message_not_a_500(reader_client, shared_view):
    list_url = reverse("runs:saved-view-list", args=["team", shared_view.pk])
    response = reader_client.get(list_url + "?filter=status%20%3D&sort=nope")
    assert response.status_code == 400
    assert "cannot sort by" in response.content.decode()


def test_opening_a_view_costs_the_run_list_plus_one_query(
    reader_client, shared_view, runs, django_assert_max_num_queries
):
    plain_url = (
        reverse("runs:run-list", args=["team"])
        + "?status=Failed&sort=-metrics.acc&cols=id,status,metrics.acc"
    )
    reader_client.get(plain_url)  # warm caches
    with django_assert_max_num_queries(100) as plain:
        reader_client.get(plain_url)
    plain_count = len(plain.captured_queries)  # before the next request resets the log
    url = view_url(shared_view)
    # the run list's queries, and the view (with its owner and last editor)
    with django_assert_max_num_queries(plain_count + 1):
        reader_client.get(url)
    RunFactory.create_batch(30, experiment=runs[("mnist", "Failed")].experiment, status="Failed")
    with django_assert_max_num_queries(plain_count + 1):
        response = reader_client.get(url)
    assert len(shown_ids(response)) == 32


# --- permissions ---------------------------------------------------------------------


def test_private_views_are_their_owners_alone(
    reader_client, owner_client, contributor_client, workspace, runs
):
    view = view_services.saved_view_create(
        actor=membership(reader_client, workspace), name="mine", state={"q": "mnist"}
    )
    assert reader_client.get(view_url(view)).status_code == 200
    assert owner_client.get(view_url(view)).status_code == 404
    assert contributor_client.get(view_url(view)).status_code == 404
    assert contributor_client.get(view_url(view, "history/")).status_code == 404
    assert contributor_client.post(view_url(view, "delete/")).status_code == 404


def test_outsiders_get_404_for_everything(outsider_client, shared_view):
    slug = shared_view.workspace.slug
    urls = [
        view_url(shared_view),
        view_url(shared_view, "list/?status=Failed"),
        view_url(shared_view, "history/"),
        reverse("runs:saved-views", args=[slug]),
        reverse("runs:saved-view-menu", args=[slug]),
    ]
    for url in urls:
        assert outsider_client.get(url).status_code == 404, url
    for suffix in ("save/", "settings/", "charts/", "delete/", "restore/", "default/"):
        assert outsider_client.post(view_url(shared_view, suffix)).status_code == 404
    create = reverse("runs:saved-view-create", args=[slug])
    assert outsider_client.post(create, {"name": "x"}).status_code == 404


def test_readers_cannot_change_shared_views_of_others(reader_client, shared_view):
    html = reader_client.get(view_url(shared_view, "list/?status=Canceled")).content.decode()
    assert 'data-action="save"' not in html
    assert 'data-action="delete"' not in html
    assert "Save as new" in html
    response = reader_client.post(
        view_url(shared_view, "save/"), {"state": "status=Canceled", "version": "1"}
    )
    assert response.status_code == 403
    assert "only its owner, contributors and owners can change it" in response.content.decode()
    assert reader_client.post(view_url(shared_view, "delete/")).status_code == 403
    assert reader_client.post(view_url(shared_view, "settings/"), {"name": "x"}).status_code == 403
    shared_view.refresh_from_db()
    assert (shared_view.version, shared_view.name, shared_view.deleted_at) == (
        1,
        "failures by accuracy",
        None,
    )


def test_a_reader_saves_a_private_copy_with_the_charts(reader_client, shared_view):
    response = reader_client.post(
        reverse("runs:saved-view-create", args=["team"]),
        {
            "name": "my failures",
            "state": "status=Failed&experiment=mnist",
            "charts_from": str(shared_view.pk),
        },
    )
    copy = SavedView.objects.get(name="my failures")
    assert response.status_code == 302
    assert response["Location"] == view_url(copy)
    assert copy.owner == reader_client.user
    assert (copy.visibility, copy.state, copy.charts) == (
        PRIVATE,
        {"experiment": ["mnist"], "status": ["Failed"]},
        shared_view.charts,
    )
    refused = reader_client.post(
        reverse("runs:saved-view-create", args=["team"]),
        {"name": "shared one", "state": "", "share": "1"},
    )
    assert refused.status_code == 403
    assert "sharing a view with the workspace needs contributor" in refused.content.decode()


# --- writes ------------------------------------------------------------------------------


def test_save_from_the_run_list_then_save_over_it(contributor_client, workspace, runs):
    create = reverse("runs:saved-view-create", args=["team"])
    response = contributor_client.post(
        create,
        {"name": "cifar runs", "state": "?status=Completed&page=3", "experiment_page": "cifar"},
    )
    view = SavedView.objects.get(name="cifar runs")
    assert response["Location"] == view_url(view)
    assert view.state == {"experiment": ["cifar"], "status": ["Completed"]}
    response = contributor_client.post(
        view_url(view, "save/"), {"state": "experiment=cifar", "version": "1"}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.version, view.state) == (2, {"experiment": ["cifar"]})
    stale = contributor_client.post(
        view_url(view, "save/"), {"state": "experiment=mnist", "version": "1"}
    )
    assert stale.status_code == 409
    assert "since you opened version 1" in stale.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "state": ""}, "a view needs a name"),
        ({"name": "x", "state": "status=Exploded"}, "is not a status"),
        ({"name": "x", "state": "filter=status%20%3D"}, "filter:"),
        ({"name": "x" * 101, "state": ""}, "at most 100 characters"),
    ],
)
def test_bad_saves_get_a_message_not_a_500(contributor_client, workspace, data, message):
    response = contributor_client.post(reverse("runs:saved-view-create", args=["team"]), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_share_rename_charts_and_delete(contributor_client, reader_client, workspace, runs):
    view = view_services.saved_view_create(
        actor=membership(contributor_client, workspace), name="board", state={}
    )
    contributor_client.post(view_url(view, "settings/"), {"visibility": "workspace"})
    view.refresh_from_db()
    assert view.is_shared
    html = reader_client.get(view_url(view)).content.decode()
    assert f'data-copy-link="http://testserver{view_url(view)}"' in html
    contributor_client.post(view_url(view, "settings/"), {"name": "team board"})
    contributor_client.post(
        view_url(view, "charts/"), {"action": "add", "type": "line", "metric": "acc", "logY": "1"}
    )
    contributor_client.post(
        view_url(view, "charts/"),
        {"action": "add", "type": "scatter", "x": "metrics.acc", "y": "metrics.acc"},
    )
    bad = contributor_client.post(
        view_url(view, "charts/"), {"action": "add", "type": "pie", "metric": "acc"}
    )
    assert bad.status_code == 400
    contributor_client.post(view_url(view, "charts/"), {"action": "remove", "index": "1"})
    view.refresh_from_db()
    assert view.name == "team board"
    assert view.charts == [{"type": "line", "metric": "acc", "logY": True}]
    assert contributor_client.get(view_url(view, "delete/")).status_code == 200
    response = contributor_client.post(view_url(view, "delete/"))
    assert response["Location"] == reverse("runs:run-list", args=["team"])
    gone = reader_client.get(view_url(view))
    assert gone.status_code == 410
    html = gone.content.decode()
    assert "This view was deleted" in html
    assert "by contributor" in html
    assert reverse("runs:run-list", args=["team"]) in html


def test_history_shows_who_changed_what_and_restores(contributor_client, owner_client, workspace):
    view = view_services.saved_view_create(
        actor=membership(contributor_client, workspace),
        name="board",
        visibility=SHARED,
        state={"status": ["Failed"]},
    )
    owner_client.post(view_url(view, "save/"), {"state": "status=Failed&q=resnet"})
    html = contributor_client.get(view_url(view, "history/")).content.decode()
    assert re.search(r"Version 2</strong>\s*<span class=\"muted\">by owner", html)
    assert '<span class="mono">q</span>: (none) → resnet' in html
    response = contributor_client.post(view_url(view, "restore/"), {"version_to_restore": "1"})
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.version, view.state) == (3, {"status": ["Failed"]})


def test_the_switcher_lists_my_views_then_shared_ones(reader_client, shared_view, workspace):
    view_services.saved_view_create(
        actor=membership(reader_client, workspace), name="just mine", state={}
    )
    html = reader_client.get(reverse("runs:saved-view-menu", args=["team"])).content.decode()
    assert html.index("My views") < html.index("just mine") < html.index("Shared views")
    assert html.index("Shared views") < html.index("failures by accuracy")
    page = reader_client.get(reverse("runs:run-list", args=["team"])).content.decode()
    assert reverse("runs:saved-view-menu", args=["team"]) in page
    assert "Save view" in page


# --- the workspace default -------------------------------------------------------------


def test_owners_pin_a_default_that_newcomers_see_on_all_runs(
    owner_client, reader_client, shared_view, workspace, django_assert_max_num_queries
):
    all_runs = reverse("runs:run-list", args=["team"])
    reader_client.get(all_runs)
    with django_assert_max_num_queries(100) as plain:
        reader_client.get(all_runs)
    plain_count = len(plain.captured_queries)  # before the next request resets the log
    refused = reader_client.post(view_url(shared_view, "default/"), {"pin": "1"})
    assert refused.status_code == 403
    owner_client.post(view_url(shared_view, "default/"), {"pin": "1"})
    assert Workspace.objects.get(pk=workspace.pk).default_view_id == shared_view.pk
    # the run list's queries and the default view
    with django_assert_max_num_queries(plain_count + 1):
        response = reader_client.get(all_runs)
    html = response.content.decode()
    assert "the workspace's default view" in html
    assert f'href="{all_runs}?default=none"' in html
    assert response.context["view"] == shared_view
    plain_list = reader_client.get(all_runs + "?default=none")
    assert "view" not in plain_list.context


@pytest.mark.parametrize("who", ["contributor", "owner", "reader", "reader with a view"])
def test_every_member_sees_the_pinned_default_on_all_runs(
    who, owner_client, reader_client, contributor_client, shared_view, workspace
):
    """One rule: "All runs" without parameters is the pinned view, for everyone (its
    creator, the owner who pinned it, members with views of their own)."""
    owner_client.post(view_url(shared_view, "default/"), {"pin": "1"})
    client = {"contributor": contributor_client, "owner": owner_client}.get(who, reader_client)
    if who == "reader with a view":
        view_services.saved_view_create(
            actor=membership(reader_client, workspace), name="mine", state={}
        )
    response = client.get(reverse("runs:run-list", args=["team"]))
    assert response.context["view"] == shared_view
    assert "the workspace's default view" in response.content.decode()


def test_the_default_view_is_marked_in_the_menu_index_and_page(
    owner_client, reader_client, shared_view
):
    owner_client.post(view_url(shared_view, "default/"), {"pin": "1"})
    menu = reader_client.get(reverse("runs:saved-view-menu", args=["team"])).content.decode()
    href = re.escape(view_url(shared_view))
    item = re.search(rf'<a [^>]*href="{href}"[^>]*>.*?</a>', menu, re.S)[0]
    assert "default" in item
    index = reader_client.get(reverse("runs:saved-views", args=["team"])).content.decode()
    assert 'badge">default' in index
    page = reader_client.get(view_url(shared_view)).content.decode()
    assert "Workspace default" in page


def test_members_see_views_with_who_made_them(reader_client, shared_view):
    html = reader_client.get(reverse("runs:saved-views", args=["team"])).content.decode()
    assert "failures by accuracy" in html
    assert "<td>contributor</td>" in html


def test_every_member_role_opens_a_shared_view(workspace, shared_view, client):
    for role in Role.values:
        user = UserFactory(username=f"m-{role}")
        MembershipFactory(workspace=workspace, user=user, role=role)
        client.force_login(user)
        assert client.get(view_url(shared_view)).status_code == 200


@pytest.mark.parametrize("view_id", ["999", str(10**30), str(2**63)])
def test_unknown_view_ids_are_404(reader_client, workspace, view_id):
    assert reader_client.get(f"/w/team/views/{view_id}/").status_code == 404
    assert reader_client.get(f"/w/team/views/{view_id}/list/?q=x").status_code == 404


def test_restoring_a_huge_version_is_a_message(contributor_client, workspace):
    view = view_services.saved_view_create(
        actor=membership(contributor_client, workspace), name="v", state={}
    )
    response = contributor_client.post(
        view_url(view, "restore/"), {"version_to_restore": str(10**30)}
    )
    assert response.status_code == 404
    assert "has no version" in response.content.decode()


# --- every control of the list stays in the view ----------------------------------------

LINK = re.compile(r'(?:href|hx-get|action)="([^"#]*)"')


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("suffix", ["", "list/?sort=status&per_page=1&tag=x"])
def test_every_control_of_a_views_list_leads_to_the_view(
    reader_client, workspace, shared_view, runs, htmx, suffix
):
    response = reader_client.get(view_url(shared_view, suffix), headers=HX if htmx else {})
    html = response.content.decode()
    table = html[
        html.index('id="run-table"') : html.index("</section>", html.index('id="run-table"'))
    ]
    list_path = view_url(shared_view, "list/")
    links = [m.replace("&amp;", "&") for m in LINK.findall(table)]
    runs_base = reverse("runs:run-list", args=[workspace.slug])
    # Not controls of the list: bulk actions, the CSV file, the exact count, run pages.
    controls = [
        link
        for link in links
        if not link.startswith(runs_base + "bulk/")
        and "/export.csv" not in link
        and "/count/" not in link
        and not re.match(rf"{re.escape(runs_base)}[^/?]+_[0-9]+_", link)
    ]
    # Header sorts, chips, pages, the page size, columns, the filter popover, Clear all.
    sorts = [link for link in controls if "sort=" in link]
    assert sorts, "the header has sort links"
    assert [link for link in controls if link.startswith(runs_base)] == []
    assert [link for link in sorts if not link.startswith(list_path)] == []


def test_a_header_sort_on_a_view_is_the_view_modified(reader_client, shared_view, runs):
    page = reader_client.get(view_url(shared_view))
    html = page.content.decode()
    href = re.search(r'<a href="([^"]*)"[^>]*title="Sort by Status"', html)[1]
    response = reader_client.get(href.replace("&amp;", "&"), headers=HX)
    assert response.status_code == 200
    assert response.context["modified"] is True
    assert response["HX-Push-Url"].startswith(view_url(shared_view, "list/"))
    assert "data-modified" in response.content.decode()


@pytest.mark.parametrize(
    "nxt",
    [
        "/\\evil.example",
        "//evil.example",
        "/\t/evil.example",
        "/\\\\evil.example/x",
        "https://evil.example/",
        "javascript:alert(1)",
        " /w/team/runs/",
        "w/team/runs/",
        "",
    ],
)
def test_a_refusal_links_back_only_to_a_path_on_the_site(contributor_client, workspace, nxt):
    data = {"name": "", "state": "", "next": nxt}
    response = contributor_client.post(reverse("runs:saved-view-create", args=["team"]), data)
    assert response.status_code == 400
    assert 'href="/w/team/runs/">Back' in response.content.decode()


def test_a_refusal_links_back_to_the_page_it_came_from(contributor_client, workspace):
    data = {"name": "", "state": "", "next": "/w/team/runs/?status=Failed&sort=-created"}
    response = contributor_client.post(reverse("runs:saved-view-create", args=["team"]), data)
    assert 'href="/w/team/runs/?status=Failed&amp;sort=-created">Back' in response.content.decode()
