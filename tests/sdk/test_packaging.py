"""pyproject.toml packages the SDK and the `studio` command with their own small dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_studio_console_script_is_the_cli():
    assert project()["scripts"] == {"studio": "runs.sdk.cli:main"}


def test_the_only_dependencies_are_requests_and_jmespath():
    names = {
        re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower() for dep in project()["dependencies"]
    }
    assert names == {"requests", "jmespath"}


def test_the_package_holds_the_sdk_and_none_of_the_servers_modules():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["packages"] == ["runs.sdk"]
