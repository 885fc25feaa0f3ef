"""`studio alert create/list/delete` and `studio run events` against a live studio;
an unknown status or a malformed address is a one-line error and a non-zero exit."""

from __future__ import annotations

import json

import pytest

from runs import services
from runs.models import AlertRule, Role
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
def as_owner(team, studio_env):
    owner = UserFactory(username="boss", email="boss@example.com")
    MembershipFactory(workspace=team, user=owner, role=Role.OWNER)
    _, secret = services.token_create(user=owner, name="cli", workspace=team)
    studio_env(STUDIO_TOKEN=secret)
    return owner


def test_alert_create_list_delete(as_owner, capsys):
    code, rule, err = cli(
        capsys,
        "alert",
        "create",
        "--status",
        "Failed",
        "--status",
        "canceled",
        "--email",
        "ops@example.com",
        "--filter",
        "tags.team = 'vision'",
    )
    assert (code, err) == (0, "")
    assert rule["statuses"] == ["Failed", "Canceled"]
    assert rule["emails"] == ["ops@example.com"]
    assert rule["scope"] == "workspace"
    code, ids, _ = cli(capsys, "alert", "list", "--query", "[].id")
    assert (code, ids) == (0, [rule["id"]])
    code, out, _ = cli(capsys, "alert", "delete", str(rule["id"]))
    assert (code, out) == (0, {"deleted": rule["id"]})
    assert not AlertRule.objects.exists()


def test_alert_create_with_a_webhook_and_an_experiment(as_owner, ws, capsys):
    Experiment(workspace=ws, name="mnist").start_logging().complete()
    code, rule, err = cli(
        capsys,
        "alert",
        "create",
        "--experiment",
        "mnist",
        "--status",
        "Completed",
        "--webhook",
        "https://hooks.example.com/services/x",
    )
    assert (code, err) == (0, "")
    assert (rule["experiment"], rule["webhook"]) == (
        "mnist",
        "https://hooks.example.com/services/x",
    )


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["--status", "Exploded", "--email", "a@b.co"], 2, "unknown status 'Exploded'"),
        (["--status", "Failed", "--email", "not-an-address"], 2, "is not an email address"),
        (["--status", "Failed", "--webhook", "hooks.example.com"], 2, "is not an http"),
        (["--status", "Failed"], 2, "one of the arguments --email --webhook is required"),
        (["--email", "a@b.co"], 2, "give --status"),
        (["--status", "Failed", "--email", "a@b.co", "--experiment", "nope"], 1, "no experiment"),
        (["--status", "Failed", "--email", "a@b.co", "--filter", "status ="], 1, "position"),
    ],
)
def test_alert_create_errors_are_one_line(as_owner, capsys, argv, code, fragment):
    exit_code, out, err = cli(capsys, "alert", "create", *argv)
    assert exit_code == code
    assert out is None
    assert fragment in one_line_error(err)
    assert not AlertRule.objects.exists()


def test_a_contributor_gets_a_personal_rule_or_a_clear_refusal(studio_env, member, capsys):
    member.email = "trainer@example.com"
    member.save()
    studio_env()
    code, rule, _ = cli(capsys, "alert", "create", "--status", "Failed", "--email", member.email)
    assert (code, rule["scope"]) == (0, "personal")
    code, _, err = cli(capsys, "alert", "create", "--status", "Failed", "--email", "x@y.org")
    assert code == 1
    assert "a personal rule emails only you" in one_line_error(err)
    code, _, err = cli(capsys, "alert", "delete", "999999")
    assert code == 1
    assert "999999" in one_line_error(err)


def test_run_events(ws, studio_env, capsys):
    studio_env()
    exp = Experiment(workspace=ws, name="events")
    done = exp.start_logging("done")
    done.complete()
    failed = exp.start_logging("failed")
    failed.fail("nope")
    code, events, err = cli(capsys, "run", "events", "-e", "events")
    assert (code, err) == (0, "")
    assert [(e["runId"], e["status"]) for e in events] == [
        (failed.id, "Failed"),
        (done.id, "Completed"),
    ]
    _, only, _ = cli(capsys, "run", "events", "--status", "Failed", "--query", "[].runId")
    assert only == [failed.id]
    _, limited, _ = cli(capsys, "run", "events", "--limit", "1", "--query", "length(@)")
    assert limited == 1
    code, _, err = cli(capsys, "run", "events", "--status", "Exploded")
    assert code == 1
    assert "query.status" in one_line_error(err)
