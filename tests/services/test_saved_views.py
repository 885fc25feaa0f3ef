"""Saved views: normalised state and charts, who may do what, versions, restore, the default."""

from __future__ import annotations

import pytest
from django.http import Http404, QueryDict

from runs.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from runs.list_state import ListState, state_querystring
from runs.models import Membership, Role, SavedView, SavedViewVersion, Workspace
from runs.selectors import saved_views as view_selectors
from runs.services import saved_views as view_services
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

PRIVATE, SHARED = SavedView.Visibility.PRIVATE, SavedView.Visibility.WORKSPACE


@pytest.fixture
def ws(db) -> Workspace:
    return WorkspaceFactory(slug="team")


def member(ws: Workspace, username: str, role: str) -> Membership:
    return MembershipFactory(workspace=ws, user=UserFactory(username=username), role=role)


@pytest.fixture
def people(ws) -> dict[str, Membership]:
    """The view's owner (a contributor) and one member of each role, plus a non-member."""
    out = {
        "author": member(ws, "author", Role.CONTRIBUTOR),
        "contributor": member(ws, "contrib", Role.CONTRIBUTOR),
        "reader": member(ws, "reader", Role.READER),
        "owner": member(ws, "boss", Role.OWNER),
    }
    elsewhere = WorkspaceFactory(slug="elsewhere")
    out["outsider"] = member(elsewhere, "outsider", Role.OWNER)
    return out


def create(actor: Membership, name: str = "failures", visibility: str = PRIVATE, **kw):
    kw.setdefault("state", {"status": ["Failed"]})
    return view_services.saved_view_create(actor=actor, name=name, visibility=visibility, **kw)


# --- normalisation ----------------------------------------------------------------------


def test_the_same_screen_twice_is_the_same_state():
    a = QueryDict("status=Failed&status=Canceled&q=resnet&page=3&sort=-created&cols=")
    b = QueryDict("q=  resnet &status=Canceled&status=Failed&status=Failed&per_page=50")
    assert view_services.normalise_state(a) == view_services.normalise_state(b)
    assert view_services.normalise_state(a) == {"q": "resnet", "status": ["Canceled", "Failed"]}


def test_parameter_order_is_irrelevant():
    first = view_services.normalise_state(
        {"tag": ["b:2", "a"], "experiment": ["mnist", "cifar"], "target": ["gpu", "cpu"]}
    )
    second = view_services.normalise_state(
        {"target": ["cpu", "gpu"], "experiment": ["cifar", "mnist"], "tag": ["a", "b:2"]}
    )
    assert first == second
    assert list(first["experiment"]) == ["cifar", "mnist"]


def test_filter_text_is_canonical():
    one = view_services.normalise_state({"filter": "status='Failed'   AND metrics.acc>=0.9"})
    two = view_services.normalise_state({"filter": "(status = 'Failed') and metrics.acc >= 0.9"})
    assert one == two
    assert one["filter"] == "status = 'Failed' and metrics.acc >= 0.9"


def test_defaults_and_empty_values_are_dropped_and_columns_keep_their_order():
    state = view_services.normalise_state(
        {
            "q": "",
            "filter": "  ",
            "status": [],
            "sort": "-created",
            "per_page": 50,
            "cols": "id,metrics.acc,status",
            "page": "2",
        }
    )
    assert state == {"cols": ["id", "metrics.acc", "status"]}
    assert view_services.normalise_state({"per_page": "25", "sort": "metrics.acc"}) == {
        "per_page": 25,
        "sort": "metrics.acc",
    }


def test_state_round_trips_through_its_query_string():
    state = view_services.normalise_state(
        {
            "q": "resnet",
            "status": ["Failed", "Canceled"],
            "tag": ["quality:great"],
            "created_after": "2026-01-01",
            "cols": "id,status,metrics.loss",
            "per_page": 25,
            "sort": "-metrics.loss",
        }
    )
    assert view_services.normalise_state(QueryDict(state_querystring(state)[1:])) == state
    assert ListState.from_canonical(state).canonical() == state


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"status": ["Exploded"]}, "status: 'Exploded' is not a status"),
        ({"filter": "status ="}, "filter:"),
        ({"sort": "nope"}, "cannot sort by 'nope'"),
        ({"cols": "id,bogus"}, "no column 'bogus'"),
        ({"per_page": 100000}, "per_page"),
        ({"created_after": "yesterday"}, "created_after must be an ISO date"),
        ({"colour": "blue"}, "'colour' is not a run list parameter"),
        ({"q": ["a", {"b": 1}]}, "state.q: expected text"),
        ({"q": 5}, "state.q: expected text, not a number"),
        ({"created_after": "2026-02-01", "created_before": "2026-01-01"}, "earlier than"),
        ("status=Failed", "an object of run list parameters"),
    ],
)
def test_invalid_state_is_refused_with_a_message(state, message):
    with pytest.raises(ValidationFailed) as caught:
        view_services.normalise_state(state)
    assert message in caught.value.message


def test_charts_are_normalised():
    charts = view_services.normalise_charts(
        [
            {"type": "line", "metric": "loss", "logY": False, "smoothing": 0.5},
            {"type": "bar", "metric": "acc", "title": "  Accuracy "},
            {"type": "scatter", "x": "properties.lr", "y": "metrics.acc", "logX": True},
            {
                "type": "parallel",
                "dimensions": ["properties.lr", "metrics.acc", "metrics.acc"],
                "color": "metrics.acc",
            },
        ]
    )
    assert charts == [
        {"type": "line", "metric": "loss", "smoothing": 0.5},
        {"type": "bar", "title": "Accuracy", "metric": "acc"},
        {"type": "scatter", "x": "properties.lr", "y": "metrics.acc", "logX": True},
        {
            "type": "parallel",
            "dimensions": ["properties.lr", "metrics.acc"],
            "color": "metrics.acc",
        },
    ]


@pytest.mark.parametrize(
    ("charts", "message"),
    [
        ({"type": "line"}, "a list of chart specs"),
        (["line"], "charts.0: a chart is an object"),
        ([{"type": "pie", "metric": "a"}], "charts.0.type: use one of line, bar"),
        ([{"type": "line"}], "a line chart needs a metric"),
        ([{"type": "line", "metric": "a", "x": "y"}], "a line chart has no 'x'"),
        ([{"type": "scatter", "x": "metrics.a"}], "needs x and y"),
        ([{"type": "scatter", "x": "acc", "y": "metrics.a"}], "not metrics.<name>"),
        ([{"type": "parallel", "dimensions": ["metrics.a"]}], "a list of 2 to 12"),
        ([{"type": "line", "metric": "a", "logY": "yes"}], "true or false"),
        ([{"type": "line", "metric": "a", "smoothing": 2}], "from 0 to 0.99"),
        ([{"type": "bar", "metric": "a", "title": "x" * 101}], "at most 100"),
        ([{"type": "bar", "metric": "a"}] * 13, "at most 12 charts"),
    ],
)
def test_invalid_charts_are_refused_with_a_message(charts, message):
    with pytest.raises(ValidationFailed) as caught:
        view_services.normalise_charts(charts)
    assert message in caught.value.message


# --- create and names ----------------------------------------------------------------


def test_create_keeps_version_one(people):
    view = create(people["author"], state=QueryDict("status=Failed&page=2"))
    assert (view.version, view.state, view.owner_id) == (1, {"status": ["Failed"]}, view.owner_id)
    (first,) = SavedViewVersion.objects.filter(view=view)
    assert (first.version, first.state, first.author_id, first.note) == (
        1,
        {"status": ["Failed"]},
        people["author"].user_id,
        "created",
    )


def test_a_name_is_unique_per_owner_but_others_and_deleted_views_may_reuse_it(people):
    view = create(people["author"], "nightly")
    with pytest.raises(ValidationFailed, match="you already have a view named 'nightly'"):
        create(people["author"], "nightly")
    create(people["contributor"], "nightly")  # another owner
    view_services.saved_view_delete(view=view, actor=people["author"])
    assert create(people["author"], "nightly").pk != view.pk


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x00name", None, 5])
def test_bad_names_are_refused(people, name):
    with pytest.raises(ValidationFailed):
        create(people["author"], name)


def test_rename_to_a_taken_name_is_refused(people):
    create(people["author"], "one")
    two = create(people["author"], "two")
    with pytest.raises(ValidationFailed, match="already have a view named 'one'"):
        view_services.saved_view_update(view=two, actor=people["author"], name="one")


# --- permissions ---------------------------------------------------------------------

OPEN = {
    # (visibility, who): may open
    (PRIVATE, "author"): True,
    (PRIVATE, "contributor"): False,
    (PRIVATE, "reader"): False,
    (PRIVATE, "owner"): False,
    (PRIVATE, "outsider"): False,
    (SHARED, "author"): True,
    (SHARED, "contributor"): True,
    (SHARED, "reader"): True,
    (SHARED, "owner"): True,
    (SHARED, "outsider"): False,
}
EDIT_RESULT = {
    # (visibility, who): None (allowed), or the error
    (PRIVATE, "author"): None,
    (PRIVATE, "contributor"): NotFound,
    (PRIVATE, "reader"): NotFound,
    (PRIVATE, "owner"): NotFound,
    (PRIVATE, "outsider"): NotFound,
    (SHARED, "author"): None,
    (SHARED, "contributor"): None,
    (SHARED, "reader"): Forbidden,
    (SHARED, "owner"): None,
    (SHARED, "outsider"): NotFound,
}


@pytest.mark.parametrize(("visibility", "who"), list(OPEN))
def test_who_may_open(people, ws, visibility, who):
    view = create(people["author"], visibility=visibility)
    actor = people[who]
    if OPEN[(visibility, who)]:
        found = view_selectors.saved_view_get(workspace=ws, actor=actor, view_id=view.pk)
        assert found.pk == view.pk
    else:
        with pytest.raises(Http404):
            view_selectors.saved_view_get(workspace=ws, actor=actor, view_id=view.pk)
    visible = view_selectors.saved_views_visible(workspace=ws, actor=actor)
    assert (view in visible) is (OPEN[(visibility, who)] and who != "outsider")


def _edit(view, actor):
    view_services.saved_view_update(view=view, actor=actor, state={"status": ["Canceled"]})


def _rename(view, actor):
    view_services.saved_view_update(view=view, actor=actor, name="renamed")


def _unshare_or_keep(view, actor):
    # Sharing a shared view again changes nothing; a private one stays the owner's to share.
    target = PRIVATE if view.is_shared else SHARED
    view_services.saved_view_update(view=view, actor=actor, visibility=target)


def _delete(view, actor):
    view_services.saved_view_delete(view=view, actor=actor)


@pytest.mark.parametrize("action", [_edit, _rename, _unshare_or_keep, _delete])
@pytest.mark.parametrize(("visibility", "who"), list(EDIT_RESULT))
def test_who_may_edit_rename_share_and_delete(people, visibility, who, action):
    view = create(people["author"], visibility=visibility)
    expected = EDIT_RESULT[(visibility, who)]
    if expected is None:
        action(view, people[who])
        view.refresh_from_db()
        assert view.version == 2 or view.is_deleted
    else:
        with pytest.raises(expected):
            action(view, people[who])
        view.refresh_from_db()
        assert (view.version, view.deleted_at) == (1, None)


def test_a_reader_saves_private_views_but_cannot_share_them(people):
    reader = people["reader"]
    view = create(reader, "mine")
    assert view.visibility == PRIVATE
    with pytest.raises(Forbidden, match="readers can save private views"):
        view_services.saved_view_update(view=view, actor=reader, visibility=SHARED)
    with pytest.raises(Forbidden, match="sharing a view with the workspace needs contributor"):
        create(reader, "shared", visibility=SHARED)
    view_services.saved_view_update(view=view, actor=reader, state={"status": ["Running"]})
    assert view.version == 2


def test_forbidden_message_names_the_view_and_role(people):
    view = create(people["author"], "team board", visibility=SHARED)
    with pytest.raises(Forbidden) as caught:
        _edit(view, people["reader"])
    assert "'team board'" in caught.value.message
    assert "your role is reader" in caught.value.message


# --- versions and restore ------------------------------------------------------------


def test_every_save_keeps_the_previous_version_and_history_shows_who_changed_what(people):
    view = create(people["author"], "board", visibility=SHARED, state={"status": ["Failed"]})
    view_services.saved_view_update(
        view=view, actor=people["contributor"], state={"status": ["Failed"], "q": "resnet"}
    )
    view_services.saved_view_update(view=view, actor=people["owner"], name="board 2")
    # A save that changes nothing is no version.
    view_services.saved_view_update(view=view, actor=people["owner"], name="board 2")
    assert view.version == 3
    assert view.updated_by_id == people["owner"].user_id
    history = view_selectors.saved_view_history(view=view)
    assert [h.version.version for h in history] == [3, 2, 1]
    assert [h.version.author.username for h in history] == ["boss", "contrib", "author"]
    assert [c.text for c in history[0].changes] == ["name: board → board 2"]
    assert [c.text for c in history[1].changes] == ["q: (none) → resnet"]
    assert history[2].changes == []


def test_restore_makes_a_new_version_with_the_old_state(people):
    view = create(people["author"], "board", state={"status": ["Failed"]})
    view_services.saved_view_update(
        view=view,
        actor=people["author"],
        name="board v2",
        state={"status": ["Running"]},
        charts=[{"type": "bar", "metric": "acc"}],
    )
    view_services.saved_view_restore(view=view, actor=people["author"], version=1)
    view.refresh_from_db()
    assert (view.version, view.name, view.state, view.charts) == (
        3,
        "board",
        {"status": ["Failed"]},
        [],
    )
    latest = SavedViewVersion.objects.get(view=view, version=3)
    assert latest.note == "restored version 1"
    assert SavedViewVersion.objects.filter(view=view).count() == 3
    with pytest.raises(NotFound, match="has no version 9"):
        view_services.saved_view_restore(view=view, actor=people["author"], version=9)


def test_a_stale_save_is_a_conflict_not_a_silent_overwrite(people):
    view = create(people["author"], "board", visibility=SHARED)
    view_services.saved_view_update(
        view=view, actor=people["contributor"], state={"q": "x"}, expected_version=1
    )
    stale = SavedView.objects.get(pk=view.pk)
    stale.version = 1
    with pytest.raises(Conflict, match="changed by contrib"):
        view_services.saved_view_update(
            view=stale, actor=people["owner"], state={"q": "y"}, expected_version=1
        )
    assert SavedView.objects.get(pk=view.pk).state == {"q": "x"}


# --- delete and default --------------------------------------------------------------


def test_delete_keeps_a_tombstone_that_cannot_be_edited(people, ws):
    view = create(people["author"], "gone", visibility=SHARED)
    view_services.saved_view_delete(view=view, actor=people["contributor"])
    found = view_selectors.saved_view_get(workspace=ws, actor=people["reader"], view_id=view.pk)
    assert found.is_deleted
    assert found.deleted_by.username == "contrib"
    assert view not in view_selectors.saved_views_visible(workspace=ws, actor=people["author"])
    with pytest.raises(NotFound, match="was deleted"):
        _edit(found, people["author"])
    with pytest.raises(NotFound, match="was deleted"):
        _delete(found, people["author"])


def test_only_owners_pin_a_shared_default_which_delete_unpins(people, ws):
    shared = create(people["author"], "start here", visibility=SHARED)
    private = create(people["author"], "mine")
    with pytest.raises(Forbidden, match="only workspace owners"):
        view_services.saved_view_set_default(workspace=ws, actor=people["contributor"], view=shared)
    with pytest.raises(NotFound):
        view_services.saved_view_set_default(workspace=ws, actor=people["owner"], view=private)
    own_private = create(people["owner"], "owner's own")
    with pytest.raises(ValidationFailed, match="share it with the workspace before pinning"):
        view_services.saved_view_set_default(workspace=ws, actor=people["owner"], view=own_private)
    view_services.saved_view_set_default(workspace=ws, actor=people["owner"], view=shared)
    assert Workspace.objects.get(pk=ws.pk).default_view_id == shared.pk
    with pytest.raises(Conflict, match="must unpin it"):
        view_services.saved_view_update(view=shared, actor=people["author"], visibility=PRIVATE)
    view_services.saved_view_delete(view=shared, actor=people["author"])
    assert Workspace.objects.get(pk=ws.pk).default_view_id is None


def test_views_named_lists_mine_first_then_shared(people, ws):
    theirs = create(people["contributor"], "board", visibility=SHARED)
    mine = create(people["author"], "board")
    create(people["owner"], "board")  # private: invisible to the author
    named = view_selectors.saved_views_named(workspace=ws, actor=people["author"], name="board")
    assert named == [mine, theirs]


def test_history_says_default_for_a_sort_or_columns_left_out(people):
    view = create(people["author"], "board", state={})
    view_services.saved_view_update(
        view=view, actor=people["author"], state={"sort": "metrics.acc", "cols": "id,status"}
    )
    (latest, _) = view_selectors.saved_view_history(view=view)
    assert [c.text for c in latest.changes] == [
        "sort: (default) → metrics.acc",
        "cols: (default) → id, status",
    ]


@pytest.mark.parametrize(
    ("chart", "label"),
    [
        ({"type": "line", "metric": "loss"}, "loss over steps"),
        ({"type": "bar", "metric": "acc"}, "Latest acc"),
        (
            {"type": "scatter", "x": "properties.lr", "y": "metrics.acc"},
            "metrics.acc by properties.lr",
        ),
        ({"type": "parallel", "dimensions": ["a", "b"]}, "Parallel: a, b"),
        ({"type": "bar", "metric": "acc", "title": "Accuracy"}, "Accuracy"),
    ],
)
def test_chart_captions(chart, label):
    assert view_selectors.chart_label(chart) == label
