"""Where the SDK finds its studio: config files from a folder upwards, env overrides, errors;
`studio folder attach` writes the file (owner-only when it holds a token)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from runs.sdk import ConfigError, Workspace, config
from runs.sdk.cli import main

ENV = ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_WORKSPACE")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for var in (*ENV, "STUDIO_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


FULL = {"url": "http://studio.example:8000", "workspace": "team", "token": "rhs_file"}


def test_studio_config_in_the_current_folder(tmp_path):
    path = write(tmp_path / ".studio" / "config.json", FULL)
    found = config.load()
    assert (found.url, found.workspace, found.token, found.path) == (
        "http://studio.example:8000",
        "team",
        "rhs_file",
        path,
    )


def test_the_search_goes_up_from_the_starting_folder(tmp_path):
    write(tmp_path / "config.json", FULL)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert config.load(start=deep).path == tmp_path / "config.json"
    ws = Workspace.from_config(start=deep)
    assert (ws.url, ws.name) == ("http://studio.example:8000", "team")


def test_the_nearest_folder_wins_and_studio_config_before_config_json(tmp_path):
    write(tmp_path / ".studio" / "config.json", {**FULL, "workspace": "far"})
    near = tmp_path / "project"
    write(near / "config.json", {**FULL, "workspace": "near-plain"})
    write(near / ".studio" / "config.json", {**FULL, "workspace": "near-studio"})
    assert config.load(start=near).workspace == "near-studio"
    (near / ".studio" / "config.json").unlink()
    assert config.load(start=near).workspace == "near-plain"


def test_a_config_json_of_something_else_is_skipped(tmp_path):
    write(tmp_path / ".studio" / "config.json", FULL)
    model = tmp_path / "model"
    write(model / "config.json", {"hidden_size": 768, "layers": 12})
    write(model / "sub" / "config.json", "not json at all")
    assert config.load(start=model / "sub").path == tmp_path / ".studio" / "config.json"


def test_env_overrides_the_file_value_by_value(tmp_path, monkeypatch):
    write(tmp_path / ".studio" / "config.json", FULL)
    monkeypatch.setenv("STUDIO_WORKSPACE", "other")
    monkeypatch.setenv("STUDIO_TOKEN", "rhs_env")
    found = config.load()
    assert (found.url, found.workspace, found.token) == (FULL["url"], "other", "rhs_env")


def test_env_alone_is_enough(monkeypatch):
    for var, value in zip(ENV, ("http://env:1", "rhs_env", "envws"), strict=True):
        monkeypatch.setenv(var, value)
    found = config.load()
    assert (found.url, found.token, found.workspace, found.path) == (
        "http://env:1",
        "rhs_env",
        "envws",
        None,
    )


def test_explicit_arguments_override_env_and_files(tmp_path, monkeypatch):
    write(tmp_path / ".studio" / "config.json", FULL)
    monkeypatch.setenv("STUDIO_URL", "http://env:1")
    monkeypatch.setenv("STUDIO_WORKSPACE", "envws")
    ws = Workspace(url="http://explicit:2", token="rhs_arg", name="argws")
    assert (ws.url, ws.name, ws._client.token) == ("http://explicit:2", "argws", "rhs_arg")


def test_an_explicit_file_path(tmp_path):
    path = write(tmp_path / "elsewhere" / "studio.json", FULL)
    assert config.load(path).path == path
    write(tmp_path / "dir" / "config.json", FULL)
    assert config.load(tmp_path / "dir").workspace == "team"


@pytest.mark.parametrize(
    ("files", "env", "message"),
    [
        ({}, {}, "the studio is not configured: no .studio/config.json or config.json in"),
        ({}, {}, "run `studio folder attach -w WORKSPACE --url URL` or set STUDIO_URL"),
        (
            {".studio/config.json": {"url": "http://s:1", "workspace": "team"}},
            {},
            "has no 'token'; set STUDIO_TOKEN",
        ),
        ({".studio/config.json": "{broken"}, {}, "is not valid JSON"),
        ({".studio/config.json": ["a", "list"]}, {}, 'must be a JSON object {"url"'),
        ({".studio/config.json": {**FULL, "url": 8000}}, {}, "'url' must be a string"),
        (
            {".studio/config.json": {"workspace": "team"}},
            {"STUDIO_TOKEN": "rhs_x"},
            "has no 'url'",
        ),
    ],
)
def test_config_errors_say_what_is_missing_and_how_to_fix_it(
    tmp_path, monkeypatch, files, env, message
):
    for name, data in files.items():
        write(tmp_path / name, data)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        Workspace.from_config()
    assert message in str(info.value)


def test_a_missing_explicit_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no config file at"):
        config.load(tmp_path / "nope.json")


@pytest.mark.parametrize("label", ["url", "token", "name"])
def test_workspace_needs_every_value(label):
    values = {"url": "http://s:1", "token": "rhs_x", "name": "team", label: " "}
    with pytest.raises(ConfigError, match=f"non-empty {label}"):
        Workspace(**values)


def test_folder_attach_with_a_token_writes_an_owner_only_file(tmp_path, capsys):
    assert main(["folder", "attach", "-w", "team", "--url", "http://s:1", "--token", "rhs_x"]) == 0
    path = tmp_path / ".studio" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "url": "http://s:1",
        "workspace": "team",
        "token": "rhs_x",
    }
    printed = json.loads(capsys.readouterr().out)
    assert printed["path"] == str(path)
    assert "rhs_x" not in json.dumps(printed)  # the secret is not echoed
    (tmp_path / "deeper").mkdir()
    found = config.load(start=tmp_path / "deeper")
    assert (found.url, found.workspace, found.token) == ("http://s:1", "team", "rhs_x")


def test_folder_attach_without_a_token_takes_it_from_the_environment(tmp_path, monkeypatch):
    assert main(["folder", "attach", "-w", "team", "--url", "http://s:1"]) == 0
    path = tmp_path / ".studio" / "config.json"
    assert json.loads(path.read_text()) == {"url": "http://s:1", "workspace": "team"}
    monkeypatch.setenv("STUDIO_TOKEN", "rhs_env")
    assert config.load().token == "rhs_env"


def test_folder_attach_again_tightens_the_mode(tmp_path):
    main(["folder", "attach", "-w", "team", "--url", "http://s:1"])
    main(["folder", "attach", "-w", "team", "--url", "http://s:1", "--token", "rhs_x"])
    assert stat.S_IMODE((tmp_path / ".studio" / "config.json").stat().st_mode) == 0o600


def test_folder_attach_into_another_folder(tmp_path, capsys):
    target = tmp_path / "proj"
    target.mkdir()
    assert main(["folder", "attach", "-w", "t", "--url", "http://s:1", "--path", str(target)]) == 0
    assert (target / ".studio" / "config.json").is_file()
    assert main(["folder", "attach", "-w", "t", "--url", "http://s:1", "--path", "nope"]) == 2
    assert capsys.readouterr().err.strip() == ("studio: error: --path nope is not a directory")
