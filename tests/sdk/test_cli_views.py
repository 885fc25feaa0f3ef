"""`studio view list` and `studio run list --view NAME` against a live studio."""

from __future__ import annotations

import json

import pytest

from runs import services
from runs.models import Membership, Role, SavedView
from runs.sdk.cli import main
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    UserFactory,
    WorkspaceFactory,
)

SHARED = SavedView.Visibility.WORKSPACE


@pytest.fixture
def team(transactional_db):
    return WorkspaceFactory(slug="team")


def _member(team, username: str, role: str = Role.CONTRIBUTOR) -> Membership:
    return MembershipFactory(workspace=team, user=UserFactory(username=username), role=role)


@pytest.fixture
def me(team) -> Membership:
    return _member(team, "trainer")


@pytest.fixture
def env(monkeypatch, tmp_path, live_server, me) -> None:
    """The CLI pointed at the live studio with the member's token, from an empty folder."""
    _, token = services.token_create(user=me.user, name="cli views")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDIO_URL", live_server.url)
    monkeypatch.setenv("STUDIO_TOKEN", token)
    monkeypatch.setenv("STUDIO_WORKSPACE", "team")
    monkeypatch.delenv("STUDIO_RUN_ID", raising=False)


@pytest.fixture
def runs(team) -> dict[str, object]:
    exp = ExperimentFactory(workspace=team, name="cli")
    return {
        "failed": RunFactory(experiment=exp, status=Status.FAILED, display_name="b"),
        "done": RunFactory(experiment=exp, status=Status.COMPLETED, display_name="a"),
        "failed2": RunFactory(experiment=exp, status=Status.FAILED, display_name="c"),
    }


def cli(capsys, *argv: str) -> tuple[int, object, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_view_list_shows_mine_then_shared(env, capsys, team, me):
    other = _member(team, "colleague")
    view_services.saved_view_create(actor=other, name="board", visibility=SHARED, state={})
    view_services.saved_view_create(actor=other, name="hidden", state={})
    view_services.saved_view_create(actor=me, name="zeta", state={"status": ["Failed"]})
    code, views, err = cli(capsys, "view", "list", "--query", "[].[name, owner, mine]")
    assert (code, err) == (0, "")
    assert views == [["zeta", "trainer", True], ["board", "colleague", False]]


def test_run_list_of_a_view_by_name_in_its_order(env, capsys, me, runs):
    view_services.saved_view_create(
        actor=me, name="failures", state={"status": ["Failed"], "sort": "name"}
    )
    code, ids, err = cli(capsys, "run", "list", "--view", "failures", "--query", "[].runId")
    assert (code, err) == (0, "")
    assert ids == [runs["failed"].id, runs["failed2"].id]
    _, ids, _ = cli(
        capsys, "run", "list", "--view", "failures", "--limit", "1", "--query", "[].runId"
    )
    assert ids == [runs["failed"].id]


def test_my_view_wins_over_a_shared_one_of_the_same_name(env, capsys, team, me, runs):
    other = _member(team, "colleague")
    view_services.saved_view_create(
        actor=other, name="board", visibility=SHARED, state={"status": ["Completed"]}
    )
    view_services.saved_view_create(actor=me, name="board", state={"status": ["Failed"]})
    _, statuses, _ = cli(capsys, "run", "list", "--view", "board", "--query", "[].status")
    assert statuses == ["Failed", "Failed"]


def test_two_shared_views_of_one_name_are_ambiguous(env, capsys, team, runs):
    ids = []
    for name in ("alice", "bob"):
        view = view_services.saved_view_create(
            actor=_member(team, name), name="board", visibility=SHARED, state={}
        )
        ids.append(view.pk)
    code, out, err = cli(capsys, "run", "list", "--view", "board")
    assert (code, out) == (1, None)
    assert err.startswith("studio: error: AmbiguousView: 2 shared views are named 'board'")
    assert f"{ids[0]} (by alice)" in err
    assert "give --view the id" in err
    assert err.count("\n") == 1
    _, statuses, _ = cli(capsys, "run", "list", "--view", str(ids[1]), "--query", "length(@)")
    assert statuses == 3


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["run", "list", "--view", "nope"], 1, "NotFound: no view named 'nope'"),
        (["run", "list", "--view", "424242"], 1, "424242"),
        (["run", "list", "--limit", "0"], 2, "--limit must be at least 1"),
        (["run", "list", "--view", "x", "-e", "cli"], 2, "cannot be combined with --experiment"),
        (["run", "list", "--view", "x", "--status", "Failed"], 2, "cannot be combined"),
        (["view", "list", "--query", "[["], 2, "--query"),
    ],
)
def test_errors_are_one_line(env, capsys, argv, status, message):
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (status, None)
    assert err.startswith("studio: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_private_view_of_another_member_is_not_found(env, capsys, team):
    view = view_services.saved_view_create(actor=_member(team, "alice"), name="mine", state={})
    code, _, err = cli(capsys, "run", "list", "--view", str(view.pk))
    assert code == 1
    assert "not found" in err.lower() or "no view" in err
