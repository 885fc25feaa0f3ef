"""Management commands: create_api_token, seed_demo, fail_stale_runs, runserver."""

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from runs import services
from runs.file_content import open_run_file
from runs.management.demo import DEMO_USERNAME, DEMO_WORKSPACE, MEMBERS, PASSWORD_FILE
from runs.models import (
    ApiToken,
    LatestMetric,
    Membership,
    MetricChunk,
    Role,
    Run,
    RunFile,
    Tag,
    Workspace,
)
from runs.status import EXECUTING, Status
from tests.factories import MembershipFactory, RunFactory, UserFactory, WorkspaceFactory


def run_command(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- create_api_token -------------------------------------------------------


def test_create_api_token_prints_only_a_token_that_authenticates(db, client):
    out, err = run_command("create_api_token", "alice", "--workspace", "vision")

    secret = out.strip()
    assert out == secret + "\n"
    assert err == ""
    token = services.token_authenticate(secret)
    assert token is not None
    assert token.user.username == "alice"
    assert token.name == "cli"
    response = client.get("/api/workspaces", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["workspaces"] == [{"name": "vision", "role": "owner"}]


def test_create_api_token_creates_the_user_and_makes_them_owner_of_a_new_workspace(db):
    run_command("create_api_token", "alice", "--workspace", "vision", "--name", "laptop")

    user = get_user_model().objects.get(username="alice")
    assert not user.has_usable_password()
    ws = Workspace.objects.get(slug="vision")
    assert Membership.objects.get(workspace=ws, user=user).role == Role.OWNER
    assert list(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == ["laptop"]


def test_create_api_token_keeps_an_existing_members_role(db):
    ws = WorkspaceFactory(slug="vision")
    user = UserFactory(username="bob")
    MembershipFactory(workspace=ws, user=user, role=Role.READER)

    run_command("create_api_token", "bob", "--workspace", "vision")

    assert Membership.objects.get(workspace=ws, user=user).role == Role.READER
    assert user.api_tokens.count() == 1


def test_create_api_token_changes_the_role_when_asked(db):
    ws = WorkspaceFactory(slug="vision")
    MembershipFactory(workspace=ws, user=UserFactory(username="owner"), role=Role.OWNER)
    user = UserFactory(username="bob")
    MembershipFactory(workspace=ws, user=user, role=Role.READER)

    run_command("create_api_token", "bob", "--workspace", "vision", "--role", "contributor")

    assert Membership.objects.get(workspace=ws, user=user).role == Role.CONTRIBUTOR


def test_create_api_token_adds_a_non_member_as_contributor(db):
    ws = WorkspaceFactory(slug="vision")
    MembershipFactory(workspace=ws, user=UserFactory(username="owner"), role=Role.OWNER)

    run_command("create_api_token", "carol", "--workspace", "vision")

    membership = Membership.objects.get(workspace=ws, user__username="carol")
    assert membership.role == Role.CONTRIBUTOR


def test_create_api_token_gives_each_call_a_new_token(db):
    first, _ = run_command("create_api_token", "alice", "--workspace", "vision")
    second, _ = run_command("create_api_token", "alice", "--workspace", "vision")

    assert first != second
    assert ApiToken.objects.filter(user__username="alice").count() == 2
    assert Workspace.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice", "--workspace", "bad name"], "not a valid name"),
        (["alice", "--workspace", ""], "not a valid name"),
        (["alice", "--workspace=-leading-dash"], "not a valid name"),
        (["alice"], "--workspace"),
        (["alice", "--workspace", "vision", "--role", "admin"], "invalid choice"),
        (["  ", "--workspace", "vision"], "username"),
        (["bad user!", "--workspace", "vision"], "username"),
        (["u" * 151, "--workspace", "vision"], "username"),
    ],
)
def test_create_api_token_refuses_bad_input_with_a_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        run_command("create_api_token", *args)

    assert ApiToken.objects.count() == 0
    assert Workspace.objects.count() == 0


def test_create_api_token_will_not_demote_the_last_owner(db):
    run_command("create_api_token", "alice", "--workspace", "vision")

    with pytest.raises(CommandError, match="last owner"):
        run_command("create_api_token", "alice", "--workspace", "vision", "--role", "reader")

    assert Membership.objects.get(user__username="alice").role == Role.OWNER
    assert ApiToken.objects.count() == 1


# -- seed_demo --------------------------------------------------------------


@pytest.fixture
def data_dir(settings, tmp_path, planner_statistics_restored):
    """Where seed_demo writes; its ANALYZE (a bulk load) leaves no statistics behind."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("runs").get_models()} | {
        "User": get_user_model().objects.count()
    }


def test_seed_demo_shows_every_feature(db, data_dir, client):
    out, _ = run_command("seed_demo")

    ws = Workspace.objects.get(slug=DEMO_WORKSPACE)
    runs = Run.objects.filter(workspace=ws)
    assert set(runs.values_list("status", flat=True)) == set(Status.values)
    assert 200 <= runs.count() <= 400
    assert set(ws.experiments.values_list("name", flat=True)) >= {
        "mnist-cnn",
        "tokenizer-sweep",
        "resnet-finetune",
    }
    # Members in every role.
    roles = dict(Membership.objects.filter(workspace=ws).values_list("user__username", "role"))
    assert roles == {DEMO_USERNAME: Role.OWNER} | {u: r for u, _, _, r in MEMBERS}
    # Children, and grandchildren two levels down.
    assert runs.filter(parent__isnull=False, parent__parent__isnull=True).count() >= 10
    assert runs.filter(parent__parent__isnull=False).exists()
    sweep = runs.get(display_name="lr sweep")
    assert 10 <= sweep.children.count() <= 20
    assert set(Tag.objects.filter(run__parent=sweep).values_list("key", flat=True)) == {"lr"}
    # Tags: key-only ones and values with spaces.
    tags = Tag.objects.filter(run__workspace=ws)
    assert tags.filter(value__isnull=True, key="worth another look").exists()
    assert tags.filter(value__contains=" ").exists()
    # Properties and metric series of a few hundred points.
    baseline = runs.get(display_name="baseline")
    props = dict(baseline.properties.values_list("key", "value"))
    assert {"lr", "batch_size", "optimizer", "git_commit"} <= props.keys()
    series = services.metric_series(run=baseline, name="loss")
    assert 100 <= len(series["values"]) <= 1000
    assert series["values"][0] > series["values"][-1]
    assert LatestMetric.objects.filter(run__workspace=ws, name="accuracy").count() > 100
    assert MetricChunk.objects.filter(run__workspace=ws).exists()
    # Descriptions with an image and a deep link to another run.
    assert 'src="/static/demo/learning-curves.svg"' in baseline.description_html
    linked = runs.filter(description_html__contains=f'href="/w/{ws.slug}/runs/{baseline.id}/"')
    assert linked.exclude(pk=baseline.pk).exists()
    # Failures carry an error; exactly one live run with a fresh heartbeat.
    failed = runs.filter(status=Status.FAILED)
    assert not failed.filter(error_code="").exists()
    assert failed.exclude(error_message="").exists()
    live = runs.get(status=Status.RUNNING)
    assert timezone.now() - live.heartbeat < timedelta(minutes=1)
    # Log and output files that can be read back.
    files = RunFile.objects.filter(run__workspace=ws)
    assert files.filter(kind=RunFile.Kind.LOG).exists()
    assert files.filter(kind=RunFile.Kind.OUTPUT).exists()
    log = files.filter(kind=RunFile.Kind.LOG).first()
    with open_run_file(log) as fh:
        assert log.size == len(fh.read()) > 0
    # Weeks of history, with times in order.
    oldest = runs.order_by("created").first()
    assert timezone.now() - oldest.created > timedelta(days=21)
    for run in runs.exclude(started=None):
        assert run.created <= run.started
        assert run.ended is None or run.started <= run.ended
    # Saved views: shared and private ones, with charts, and a pinned default that
    # opens (its charts valid, its list showing runs).
    views = ws.saved_views.all()
    assert {v.visibility for v in views} == {"private", "workspace"}
    assert {v.owner.username for v in views} >= {DEMO_USERNAME, "alice", "bob"}
    assert ws.default_view is not None
    assert ws.default_view.is_shared
    assert ws.default_view.charts
    # The printed password signs the demo user in.
    password = (data_dir / PASSWORD_FILE).read_text().strip()
    assert (data_dir / PASSWORD_FILE).stat().st_mode & 0o077 == 0
    assert f"as {DEMO_USERNAME} / {password}" in out
    assert client.login(username=DEMO_USERNAME, password=password)
    default = client.get(f"/w/{ws.slug}/runs/")
    assert default.status_code == 200
    assert default.context["view"] == ws.default_view
    assert default.context["page"].rows
    for view in views.filter(owner__username=DEMO_USERNAME):
        response = client.get(f"/w/{ws.slug}/views/{view.pk}/")
        assert response.status_code == 200, view.name
        assert response.context["page"].rows, view.name


def test_seed_demo_twice_changes_nothing(db, data_dir):
    run_command("seed_demo")
    before = _counts()
    password = (data_dir / PASSWORD_FILE).read_text()

    out, _ = run_command("seed_demo")

    assert _counts() == before
    assert (data_dir / PASSWORD_FILE).read_text() == password
    assert "has its demo data already" in out
    assert password.strip() in out


def test_seed_demo_if_empty_leaves_a_database_with_runs_alone(db, data_dir):
    RunFactory()
    before = _counts()

    out, _ = run_command("seed_demo", "--if-empty")

    assert _counts() == before
    assert "no demo data added" in out
    assert not (data_dir / PASSWORD_FILE).exists()


def test_seed_demo_gives_a_token_only_demo_user_a_password(db, data_dir, client):
    # `create_api_token demo --workspace demo` before the first `make run`.
    run_command("create_api_token", DEMO_USERNAME, "--workspace", DEMO_WORKSPACE)

    run_command("seed_demo", "--if-empty")

    password = (data_dir / PASSWORD_FILE).read_text().strip()
    assert client.login(username=DEMO_USERNAME, password=password)
    assert Run.objects.filter(workspace__slug=DEMO_WORKSPACE).exists()


def test_seed_demo_does_not_print_a_password_that_is_no_longer_the_users(db, data_dir):
    run_command("seed_demo")
    user = get_user_model().objects.get(username=DEMO_USERNAME)
    user.set_password("changed-by-the-user")
    user.save()
    stale = (data_dir / PASSWORD_FILE).read_text().strip()

    out, _ = run_command("seed_demo")

    assert stale not in out
    assert "changepassword" in out


# -- fail_stale_runs --------------------------------------------------------


def _run_with_heartbeat(run_status: str, seconds_ago: float | None) -> Run:
    heartbeat = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    return RunFactory(status=run_status, heartbeat=heartbeat)


def test_fail_stale_runs_fails_only_stale_executing_runs(db):
    stale = [_run_with_heartbeat(s, 600) for s in sorted(EXECUTING)]
    fresh = _run_with_heartbeat(Status.RUNNING, 10)
    never = _run_with_heartbeat(Status.RUNNING, None)
    waiting = _run_with_heartbeat(Status.QUEUED, 600)
    done = _run_with_heartbeat(Status.COMPLETED, 600)

    out, _ = run_command("fail_stale_runs", "--timeout", "60")

    assert sorted(out.split()) == sorted(r.id for r in stale)
    for run in stale:
        run.refresh_from_db()
        assert run.status == Status.FAILED
        assert run.error_code == "HeartbeatLost"
        assert "60 s" in run.error_message
    for run, expected in [
        (fresh, Status.RUNNING),
        (never, Status.RUNNING),
        (waiting, Status.QUEUED),
        (done, Status.COMPLETED),
    ]:
        run.refresh_from_db()
        assert run.status == expected
        assert run.error_code == ""


def test_fail_stale_runs_uses_the_heartbeat_timeout_setting(db, settings):
    settings.STUDIO_HEARTBEAT_TIMEOUT = 300
    old = _run_with_heartbeat(Status.RUNNING, 400)
    recent = _run_with_heartbeat(Status.RUNNING, 200)

    out, _ = run_command("fail_stale_runs")

    assert out.split() == [old.id]
    recent.refresh_from_db()
    assert recent.status == Status.RUNNING


def test_fail_stale_runs_prints_nothing_when_nothing_is_stale(db):
    _run_with_heartbeat(Status.RUNNING, 1)

    out, _ = run_command("fail_stale_runs")

    assert out == ""


@pytest.mark.parametrize("timeout", ["0", "-5", "nan", "inf", "soon"])
def test_fail_stale_runs_refuses_a_bad_timeout(db, timeout):
    run = _run_with_heartbeat(Status.RUNNING, 10_000)

    with pytest.raises(CommandError, match="timeout"):
        run_command("fail_stale_runs", f"--timeout={timeout}")

    run.refresh_from_db()
    assert run.status == Status.RUNNING


# -- bin/supervise.py (make run's processes) ---------------------------------

SUPERVISE = Path(__file__).resolve().parent.parent / "bin" / "supervise.py"
SLEEPER = f"{sys.executable} -c 'import time; time.sleep(300)'"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_supervise_stops_the_others_when_one_exits_and_passes_its_status():
    result = subprocess.run(
        [
            sys.executable,
            SUPERVISE,
            f"fails={sys.executable} -c 'raise SystemExit(3)'",
            f"sleeps={SLEEPER}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 3
    assert "fails exited with status 3" in result.stderr
    pids = [int(p) for p in re.findall(r"started sleeps \(pid (\d+)\)", result.stderr)]
    assert len(pids) == 1
    assert _gone(pids[0])


def test_supervise_stops_every_process_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, SUPERVISE, f"one={SLEEPER}", f"two={SLEEPER}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    started = [proc.stderr.readline() for _ in range(2)]
    pids = [int(re.search(r"\(pid (\d+)\)", line)[1]) for line in started]

    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    rest = proc.stderr.read()

    assert code == 0
    assert "stopping one" in rest
    assert "stopping two" in rest
    assert all(_gone(pid) for pid in pids)


@pytest.mark.parametrize("spec", ["no-equals-sign", "=python", "name=", "  =  "])
def test_supervise_refuses_a_malformed_process(spec):
    result = subprocess.run(
        [sys.executable, SUPERVISE, spec], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode != 0
    assert "expected NAME=COMMAND" in result.stderr


def test_runserver_is_djangos_with_static_files_and_no_nagle_delay(db, settings, monkeypatch):
    """`make run`'s server sends each response at once (TCP_NODELAY), and serves static files."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import get_commands
    from django.core.management.commands import runserver as django_runserver
    from django.core.servers.basehttp import WSGIRequestHandler

    assert get_commands()["runserver"] == "runs"
    settings.DEBUG = True  # as in `make run`: static files served
    served = {}

    def fake_run(addr, port, handler, **kwargs):
        served.update(
            addr=addr,
            port=port,
            handler=handler,
            nodelay=WSGIRequestHandler.disable_nagle_algorithm,
        )

    monkeypatch.setattr(django_runserver, "run", fake_run)
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", False)
    call_command(
        "runserver", "127.0.0.1:8765", use_reloader=False, skip_checks=True, stdout=StringIO()
    )
    assert served["nodelay"] is True
    assert (served["addr"], int(served["port"])) == ("127.0.0.1", 8765)
    assert isinstance(served["handler"], StaticFilesHandler)


# -- runworker ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "257"])
def test_runworker_refuses_a_bad_concurrency(db, value):
    with pytest.raises(CommandError, match="--concurrency must be 1 to 256"):
        run_command("runworker", "--concurrency", value)


def test_seed_demo_queues_a_submitted_run_for_the_worker(db, data_dir):
    run_command("seed_demo")
    submitted = Run.objects.get(workspace__slug=DEMO_WORKSPACE, script="train.py")
    assert submitted.status == Status.QUEUED
    assert (submitted.script, submitted.arguments) == ("train.py", ["--epochs", "600"])
    assert submitted.files.get(kind="snapshot").size > 0
    assert submitted.compute_target == "local"
