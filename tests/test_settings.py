"""Settings from the environment: the helpers, the refusals, and the deploy check."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from studio import env

BASE_DIR = Path(__file__).resolve().parent.parent
# Variables that would leak the test environment into a subprocess.
_SETTINGS_VARS = {
    "ALLOWED_HOSTS",
    "BEHIND_PROXY",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECRET_KEY",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "STUDIO_DATA_DIR",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_yes_and_no(monkeypatch, raw, expected):
    monkeypatch.setenv("STUDIO_TEST_VAR", raw)

    assert env.env_bool("STUDIO_TEST_VAR", not expected) is expected


def test_env_helpers_fall_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("STUDIO_TEST_VAR", raising=False)

    assert env.env_bool("STUDIO_TEST_VAR", True) is True
    assert env.env_int("STUDIO_TEST_VAR", 7) == 7
    assert env.env_float("STUDIO_TEST_VAR", 1.5) == 1.5
    assert env.env_list("STUDIO_TEST_VAR", ["a"]) == ["a"]
    assert env.env_str("STUDIO_TEST_VAR", "x") == "x"


def test_env_numbers_and_lists_parse(monkeypatch):
    monkeypatch.setenv("STUDIO_TEST_INT", "42")
    monkeypatch.setenv("STUDIO_TEST_FLOAT", "2.5")
    monkeypatch.setenv("STUDIO_TEST_LIST", " a.example.com, ,b.example.com ")

    assert env.env_int("STUDIO_TEST_INT", 0) == 42
    assert env.env_float("STUDIO_TEST_FLOAT", 0.0) == 2.5
    assert env.env_list("STUDIO_TEST_LIST") == ["a.example.com", "b.example.com"]


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env.env_bool("STUDIO_TEST_VAR"), "maybe", "not a boolean"),
        (lambda: env.env_bool("STUDIO_TEST_VAR"), "2", "not a boolean"),
        (lambda: env.env_bool("STUDIO_TEST_VAR"), "yess", "not a boolean"),
        (lambda: env.env_int("STUDIO_TEST_VAR", 0), "1.5", "not a whole number"),
        (lambda: env.env_int("STUDIO_TEST_VAR", 0), "ten", "not a whole number"),
        (lambda: env.env_int("STUDIO_TEST_VAR", 0), "0x10", "not a whole number"),
        (lambda: env.env_float("STUDIO_TEST_VAR", 0.0), "fast", "not a number"),
        (lambda: env.env_float("STUDIO_TEST_VAR", 0.0), "1,5", "not a number"),
    ],
)
def test_env_helpers_refuse_bad_values_naming_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("STUDIO_TEST_VAR", raw)

    with pytest.raises(ImproperlyConfigured, match=message) as excinfo:
        reader()

    assert "STUDIO_TEST_VAR" in str(excinfo.value)


def _clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    environ["STUDIO_DATA_DIR"] = str(tmp_path / "data")
    environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    environ.update(values)
    return environ


def _run(args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


_LOAD_SETTINGS = ["-c", "import django; django.setup(); print('loaded')"]


def test_settings_refuse_to_load_without_a_secret_key_unless_debug(tmp_path):
    result = _run(_LOAD_SETTINGS, _clean_env(tmp_path))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_settings_load_without_a_secret_key_in_debug(tmp_path):
    result = _run(_LOAD_SETTINGS, _clean_env(tmp_path, DEBUG="1"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "not-a-database://x"),
        ("STUDIO_HEARTBEAT_TIMEOUT", "two minutes"),
        ("SECURE_HSTS_SECONDS", "a year"),
    ],
)
def test_settings_refuse_bad_values_with_a_message(tmp_path, variable, raw):
    environ = _clean_env(tmp_path, SECRET_KEY="x" * 50, **{variable: raw})

    result = _run(_LOAD_SETTINGS, environ)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_deploy_check_passes_with_production_settings(tmp_path):
    environ = _clean_env(
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="studio.example.com",
    )

    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], environ)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_readme_documents_every_environment_variable_the_settings_read():
    source = (BASE_DIR / "studio" / "settings.py").read_text()
    names = set(
        re.findall(r"\benv_(?:str|bool|int|float|list|networks)\(\s*\"([A-Z][A-Z0-9_]*)\"", source)
    )
    readme = (BASE_DIR / "README.md").read_text()

    assert "SECRET_KEY" in names
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"server_side_binding": True, "prepare_threshold": 5}),
        ("?server_side_binding=false", {"server_side_binding": False, "prepare_threshold": 5}),
    ],
    ids=["prepared by default", "a pooler's opt-out"],
)
def test_postgresql_statements_are_prepared_unless_the_url_says_not(tmp_path, query, expected):
    environ = _clean_env(
        tmp_path, DEBUG="1", DATABASE_URL=f"postgres://u@db.example.com:5432/studio{query}"
    )
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"

    result = _run(["-c", f"import django; django.setup(); {show}"], environ)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(expected)
