"""pyproject.toml packages the SDK and the `studio` command with their own small dependencies."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_studio_console_script_is_the_cli():
    assert project()["scripts"] == {"studio": "runs.sdk.cli:main"}


def test_the_only_dependencies_are_urllib3_certifi_and_jmespath():
    names = {
        re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower() for dep in project()["dependencies"]
    }
    assert names == {"urllib3", "certifi", "jmespath"}


def test_the_sdk_and_the_cli_import_nothing_else_of_the_servers():
    code = (
        "import sys, runs.sdk, runs.sdk.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'requests', 'numpy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_package_holds_the_sdk_and_none_of_the_servers_modules():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["packages"] == ["runs.sdk"]
