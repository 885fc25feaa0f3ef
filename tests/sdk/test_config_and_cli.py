"""Config search order, `studio folder attach`, and the CLI's parsing, output and errors."""

from __future__ import annotations

import json
import stat

import pytest

from runs.sdk import ConfigError, Workspace
from runs.sdk import config as sdk_config
from runs.sdk.cli import main

ENV = ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_WORKSPACE", "STUDIO_RUN_ID")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    return home


def _write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)


CFG = {"url": "http://studio.test", "workspace": "team", "token": "t1"}


def test_dot_studio_config_is_found_from_a_subdirectory(clean_env):
    _write(clean_env / ".studio" / "config.json", CFG)
    deep = clean_env / "a" / "b"
    deep.mkdir(parents=True)
    found = sdk_config.load(start=deep)
    assert (found.url, found.workspace, found.token) == ("http://studio.test", "team", "t1")
    assert found.path == clean_env / ".studio" / "config.json"


def test_the_nearest_directory_wins_and_dot_studio_before_config_json(clean_env):
    _write(clean_env / ".studio" / "config.json", {**CFG, "workspace": "far"})
    near = clean_env / "project"
    _write(near / "config.json", {**CFG, "workspace": "plain"})
    _write(near / ".studio" / "config.json", {**CFG, "workspace": "near"})
    assert sdk_config.load(start=near).workspace == "near"
    (near / ".studio" / "config.json").unlink()
    assert sdk_config.load(start=near).workspace == "plain"


def test_a_config_json_of_something_else_is_skipped(clean_env):
    _write(clean_env / ".studio" / "config.json", CFG)
    project = clean_env / "model"
    _write(project / "config.json", {"hidden_size": 768})
    _write(project / "sub" / "config.json", "not json at all")
    assert sdk_config.load(start=project / "sub").workspace == "team"


def test_environment_variables_override_the_file(clean_env, monkeypatch):
    _write(clean_env / ".studio" / "config.json", CFG)
    monkeypatch.setenv("STUDIO_TOKEN", "from-env")
    monkeypatch.setenv("STUDIO_WORKSPACE", "other")
    found = sdk_config.load()
    assert (found.url, found.workspace, found.token) == ("http://studio.test", "other", "from-env")


def test_environment_alone_is_enough(clean_env, monkeypatch):
    monkeypatch.setenv("STUDIO_URL", "http://env.test/")
    monkeypatch.setenv("STUDIO_TOKEN", "tok")
    monkeypatch.setenv("STUDIO_WORKSPACE", "ws")
    ws = Workspace.from_config()
    assert (ws.url, ws.name) == ("http://env.test", "ws")


def test_nothing_configured_says_what_to_do(clean_env):
    with pytest.raises(ConfigError, match="studio folder attach") as raised:
        Workspace.from_config()
    assert "STUDIO_URL" in str(raised.value)


def test_a_missing_token_names_the_variable(clean_env):
    _write(clean_env / ".studio" / "config.json", {"url": "http://x", "workspace": "w"})
    with pytest.raises(ConfigError, match="has no 'token'; set STUDIO_TOKEN"):
        Workspace.from_config()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"url": 5, "workspace": "w", "token": "t"}', "'url' must be a string"),
    ],
)
def test_a_broken_dot_studio_config_is_an_error(clean_env, content, message):
    _write(clean_env / ".studio" / "config.json", content)
    with pytest.raises(ConfigError, match=message):
        Workspace.from_config()


def test_an_explicit_path_is_used(clean_env, tmp_path):
    _write(tmp_path / "elsewhere" / "config.json", CFG)
    assert Workspace.from_config(tmp_path / "elsewhere").name == "team"
    with pytest.raises(ConfigError, match="no config file"):
        Workspace.from_config(tmp_path / "nowhere.json")


# ---- the CLI --------------------------------------------------------------------------


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_folder_attach_writes_a_private_file_with_a_token(clean_env, capsys):
    code, out, err = _run(
        capsys, "folder", "attach", "-w", "team", "--url", "http://s.test", "--token", "secret"
    )
    assert (code, err) == (0, "")
    path = clean_env / ".studio" / "config.json"
    assert json.loads(path.read_text()) == {
        "url": "http://s.test",
        "workspace": "team",
        "token": "secret",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    printed = json.loads(out)
    assert printed["path"] == str(path)
    assert "secret" not in out
    assert Workspace.from_config().name == "team"


def test_folder_attach_without_a_token(clean_env, capsys):
    code, out, _ = _run(capsys, "folder", "attach", "-w", "team", "--url", "http://s.test")
    assert code == 0
    path = clean_env / ".studio" / "config.json"
    assert json.loads(path.read_text()) == {"url": "http://s.test", "workspace": "team"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert json.loads(out)["token"] is None
    code, out, _ = _run(capsys, "folder", "attach", "-w", "t", "--url", "u", "--query", "workspace")
    assert json.loads(out) == "t"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run"],
        ["run", "show"],
        ["run", "submit-script", "-e", "x"],
        ["run", "logs"],
        ["computetarget", "create", "-n", "x", "--executor", "slurm"],
        ["run", "fly", "-r", "x"],
        ["run", "update", "-r", "x"],
        ["run", "update", "-r", "x", "--add-tag", "=v"],
        ["run", "list", "-e", "x", "--limit", "0"],
        ["run", "list", "-e", "x", "--limit", "many"],
        ["folder", "attach", "--url", "http://x"],
        ["experiment", "list", "--query", "[?"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(clean_env, capsys, monkeypatch, argv):
    monkeypatch.setenv("STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STUDIO_TOKEN", "t")
    monkeypatch.setenv("STUDIO_WORKSPACE", "w")
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("studio: error: ")
    assert err.count("\n") == 1


def test_unconfigured_commands_fail_with_one_line(clean_env, capsys):
    code, out, err = _run(capsys, "experiment", "list")
    assert (code, out) == (1, "")
    assert err.startswith("studio: error: ConfigError: the studio is not configured")
    assert err.count("\n") == 1


def test_an_unreachable_studio_is_one_line(clean_env, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STUDIO_TOKEN", "t")
    monkeypatch.setenv("STUDIO_WORKSPACE", "w")
    code, _, err = _run(capsys, "run", "show", "-r", "x")
    assert code == 1
    assert err.startswith("studio: error: ConnectionError:")
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_run_update_sends_tags_in_one_request_and_prints_the_document(
    clean_env, capsys, monkeypatch, fake_server, fake
):
    fake.document("e_1", tags={"old": "x"})
    monkeypatch.setenv("STUDIO_URL", fake_server.url)
    monkeypatch.setenv("STUDIO_TOKEN", "t")
    monkeypatch.setenv("STUDIO_WORKSPACE", "team")
    code, out, err = _run(
        capsys,
        "run", "update", "-r", "e_1",
        "--add-tag", "quality=fantastic run", "--add-tag", "flagged",
        "--remove-tag", "old", "--description", "new text",
    )  # fmt: skip
    assert (code, err) == (0, "")
    (tags,) = fake.sent("PATCH", r"/tags$")
    assert tags.json == {"set": {"quality": "fantastic run", "flagged": None}, "remove": ["old"]}
    (patch,) = fake.sent("PATCH", r"/runs/e_1$")
    assert patch.json == {"description": "new text"}
    document = json.loads(out)
    assert document["tags"] == {"quality": "fantastic run", "flagged": None}
    assert document["description"] == "new text"


def test_run_list_passes_filters_and_applies_the_query(
    clean_env, capsys, monkeypatch, fake_server, fake
):
    docs = [fake.document(f"e_{n}") for n in (3, 2, 1)]
    fake.script(
        "GET", r"/runs$", (200, {"runs": docs, "page": 1, "perPage": 2, "total": 3, "hasMore": 0})
    )
    monkeypatch.setenv("STUDIO_URL", fake_server.url)
    monkeypatch.setenv("STUDIO_TOKEN", "t")
    monkeypatch.setenv("STUDIO_WORKSPACE", "team")
    code, out, _ = _run(
        capsys,
        "run", "list", "--experiment-name", "e", "--status", "Failed", "--status", "Canceled",
        "--tag", "quality=great", "--filter", "metrics.acc > 0.5", "--query", "[].runId",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == ["e_3", "e_2", "e_1"]
    (request,) = fake.sent("GET", r"/runs$")
    query = request.query
    assert ("experiment", "e") in query
    assert [v for k, v in query if k == "status"] == ["Failed", "Canceled"]
    assert ("tag", "quality=great") in query
    assert ("filter", "metrics.acc > 0.5") in query
