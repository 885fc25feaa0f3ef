"""The studio CLI against a live studio: list options, update flags, --query, and failures
that are one line on stderr with a non-zero exit (never a traceback)."""

from __future__ import annotations

import json

import pytest

from runs import services
from runs.models import Experiment as ExperimentModel
from runs.models import Role
from runs.models import Run as RunModel
from runs.sdk import Experiment
from runs.sdk.cli import main
from tests.factories import MembershipFactory, UserFactory


def cli(capsys, *argv: str) -> tuple[int, object, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def one_line_error(err: str) -> str:
    assert err.startswith("studio: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    return err


@pytest.fixture
def runs(ws, studio_env, member) -> dict:
    """In experiment `cli`: a parent with a tagged child and a failed run, started by this
    process, and a running run that another process executes (this one does not heartbeat
    it, so cancelling it interrupts nothing here)."""
    studio_env()
    exp = Experiment(workspace=ws, name="cli")
    parent = exp.start_logging("parent")
    child = parent.child_run("child")
    child.tag("seed", "1")
    failed = exp.start_logging("failed")
    failed.fail("diverged", error_code="NaNLoss")
    elsewhere = services.run_create(
        experiment=ExperimentModel.objects.get(name="cli"), user=member, display_name="running"
    )
    running = ws.get_run(elsewhere.id)
    return {"parent": parent, "child": child, "failed": failed, "running": running}


def test_run_list_status_children_limit_and_query(runs, capsys):
    code, ids, err = cli(capsys, "run", "list", "-e", "cli", "--query", "[].runId")
    assert (code, err) == (0, "")
    assert ids == [runs["running"].id, runs["failed"].id, runs["parent"].id]

    _, ids, _ = cli(capsys, "run", "list", "-e", "cli", "--status", "Failed", "--query", "[].runId")
    assert ids == [runs["failed"].id]
    _, errors, _ = cli(
        capsys, "run", "list", "-e", "cli", "--status", "Failed", "--query", "[].error"
    )
    assert errors == [{"code": "NaNLoss", "message": "diverged"}]
    _, ids, _ = cli(
        capsys, "run", "list", "-e", "cli", "--include-children", "--tag", "seed=1",
        "--query", "[].runId",
    )  # fmt: skip
    assert ids == [runs["child"].id]
    _, docs, _ = cli(capsys, "run", "list", "-e", "cli", "--limit", "2")
    assert [d["runId"] for d in docs] == [runs["running"].id, runs["failed"].id]
    assert docs[0]["url"].endswith(f"/w/team/runs/{runs['running'].id}/")
    _, count, _ = cli(capsys, "run", "list", "-e", "nobody", "--query", "length(@)")
    assert count == 0


def test_run_update_show_and_cancel(runs, capsys):
    run_id = runs["parent"].id
    code, doc, _ = cli(
        capsys, "run", "update", "-r", run_id, "--add-tag", "quality=fantastic run",
        "--add-tag", "worth another look", "--display-name", "baseline",
    )  # fmt: skip
    assert code == 0
    assert doc["tags"] == {"quality": "fantastic run", "worth another look": None}
    assert doc["displayName"] == "baseline"
    code, tags, _ = cli(
        capsys, "run", "update", "-r", run_id, "--remove-tag", "quality", "--query", "tags"
    )
    assert tags == {"worth another look": None}
    assert cli(capsys, "run", "show", "-r", run_id, "--query", "[displayName, status]")[1] == [
        "baseline",
        "Running",
    ]
    code, status, _ = cli(capsys, "run", "cancel", "-r", runs["running"].id, "--query", "status")
    assert (code, status) == (0, "CancelRequested")
    assert RunModel.objects.get(pk=runs["running"].id).status == "CancelRequested"
    runs["parent"].cancel()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["run", "show", "-r", "cli_1_nope"], 1, "404 NotFound: run 'cli_1_nope' not found"),
        (["run", "cancel", "-r", "cli_1_nope"], 1, "404 NotFound"),
        (["run", "list", "-e", "cli", "--filter", "status ="], 1, "400 BadFilter"),
        (["run", "list", "-e", "cli", "--filter", "tags.x ~ 1"], 1, "400 BadFilter"),
        (["run", "list", "-e", "cli", "--status", "Sleeping"], 1, "400"),
        (["experiment", "list", "--query", "[?name =="], 2, "--query:"),
        # A query that compiles but fails on this JSON: still one line.
        (["experiment", "list", "--query", "abs(@)"], 2, "--query:"),
        (["experiment", "list", "-w", "elsewhere"], 1, "404 NotFound"),
    ],
)
def test_failures_are_one_line_on_stderr(studio_env, capsys, argv, code, message):
    studio_env()
    got, out, err = cli(capsys, *argv)
    assert got == code
    assert out is None
    assert message in one_line_error(err)


def test_a_readers_update_is_refused_in_one_line(runs, capsys, team, monkeypatch):
    reader = UserFactory(username="watcher")
    MembershipFactory(workspace=team, user=reader, role=Role.READER)
    _, secret = services.token_create(user=reader, name="read only")
    monkeypatch.setenv("STUDIO_TOKEN", secret)
    code, _, err = cli(capsys, "run", "update", "-r", runs["parent"].id, "--add-tag", "x")
    assert code == 1
    assert "403 Forbidden: your role in workspace 'team' is reader" in one_line_error(err)
    assert cli(capsys, "run", "show", "-r", runs["parent"].id, "--query", "status")[1] == "Running"
    runs["parent"].cancel()


def test_a_revoked_token_and_a_studio_that_is_gone(runs, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_TOKEN", "rhs_not-a-token")
    code, _, err = cli(capsys, "experiment", "list")
    assert code == 1
    assert "401 Unauthorized" in one_line_error(err)
    # A port nothing listens on (the discard port): refused at once, retried, then one line.
    monkeypatch.setenv("STUDIO_URL", "http://127.0.0.1:9")
    code, _, err = cli(capsys, "run", "show", "-r", runs["parent"].id)
    assert code == 1
    assert "ConnectionError" in one_line_error(err)
    runs["parent"].cancel()
