"""`studio run submit-script`, `studio run logs`, `studio run list` across the workspace and
`studio computetarget` against a live studio and a real worker."""

from __future__ import annotations

import json
import tarfile

import pytest

from runs.models import Membership, RunFile
from runs.sdk.cli import main
from tests.workers import runworker


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path, studio_env, monkeypatch):
    studio_env()
    work = tmp_path / "project"
    work.mkdir()
    (work / "train.py").write_text(
        "import sys\nprint('training with', sys.argv[1:])\nprint('done')\n"
    )
    (work / "data").mkdir()
    (work / "data" / "big.bin").write_bytes(b"x" * 1000)
    (work / ".studioignore").write_text("data/\n")
    monkeypatch.chdir(work)
    return work


def test_submit_script_from_the_current_folder_then_follow_its_log(
    capsys, folder, studio, tmp_path
):
    code, out, err = cli(
        capsys, "run", "submit-script", "-e", "testexperiment", "train.py", "--epochs", "3"
    )
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["status"] == "Queued"
    assert document["target"] == "local"
    run_id = document["runId"]

    with runworker(studio, tmp_path):
        code, out, err = cli(capsys, "run", "logs", "-r", run_id, "--follow")

    assert (code, err) == (0, "")
    assert out == "training with ['--epochs', '3']\ndone\n"
    code, out, _ = cli(capsys, "run", "show", "-r", run_id, "--query", "status")
    assert json.loads(out) == "Completed"
    # The snapshot left data/ out, as .studioignore says.
    snapshot = RunFile.objects.get(run_id=run_id, kind="snapshot")
    with tarfile.open(snapshot.file.path) as tar:
        assert sorted(tar.getnames()) == [".studioignore", "train.py"]


def test_run_list_without_an_experiment_lists_the_workspace(capsys, folder):
    for experiment in ("a", "b"):
        assert cli(capsys, "run", "submit-script", "-e", experiment, "train.py")[0] == 0
    code, out, _ = cli(capsys, "run", "list", "--query", "[].experiment")
    assert code == 0
    assert sorted(json.loads(out)) == ["a", "b"]


def test_logs_of_a_run_without_output_yet_is_an_error(capsys, folder):
    _, out, _ = cli(capsys, "run", "submit-script", "-e", "x", "train.py")
    code, out, err = cli(capsys, "run", "logs", "-r", json.loads(out)["runId"])
    assert code == 1
    assert "has no log 'user_logs/std_log.txt' (yet)" in err


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["run", "submit-script", "-e", "x", "missing.py"], 2, "no script 'missing.py'"),
        (["run", "submit-script", "-e", "x", "-t", "nope", "train.py"], 1, "no compute target"),
        (["run", "submit-script", "-e", "bad name", "train.py"], 1, "not a valid name"),
        (["computetarget", "create", "-n", "gpu"], 1, "compute targets are changed by owners"),
        (["computetarget", "delete", "-n", "gpu"], 1, "compute targets are changed by owners"),
    ],
)
def test_bad_submissions_and_target_changes_are_one_line(capsys, folder, argv, status, message):
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (status, "")
    assert message in err
    assert err.count("\n") == 1


def test_owners_create_list_and_delete_compute_targets(capsys, folder, member, team):
    Membership.objects.filter(user=member, workspace=team).update(role="owner")
    code, out, _ = cli(
        capsys, "computetarget", "create", "-n", "gpu-cluster", "--executor", "celery"
    )
    assert code == 0
    assert json.loads(out)["executor"] == "celery"
    code, out, err = cli(capsys, "computetarget", "create", "-n", "gpu-cluster")
    assert code == 1
    assert "has a compute target 'gpu-cluster'" in err
    code, out, _ = cli(capsys, "computetarget", "list", "--query", "[].name")
    assert json.loads(out) == ["local", "gpu-cluster"]
    code, out, _ = cli(capsys, "computetarget", "delete", "-n", "gpu-cluster")
    assert json.loads(out) == {"deleted": "gpu-cluster"}
    code, _, err = cli(capsys, "computetarget", "delete", "-n", "gpu-cluster")
    assert code == 1
    assert "no compute target 'gpu-cluster'" in err


def test_cancel_takes_the_articles_workspace_and_experiment_flags(capsys, folder):
    # `az ml run cancel -r runid -w workspace_name -e experiment_name`
    _, out, _ = cli(capsys, "run", "submit-script", "-e", "testexperiment", "train.py")
    run_id = json.loads(out)["runId"]
    code, out, err = cli(capsys, "run", "cancel", "-r", run_id, "-w", "team", "-e", "other")
    assert code == 1
    assert "is in experiment 'testexperiment', not 'other'" in err
    code, out, err = cli(
        capsys, "run", "cancel", "-r", run_id, "-w", "team", "-e", "testexperiment"
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["status"] == "Canceled"
