"""compose.yaml and bin/Dockerfile speak of the studio as it is: its services, its
commands and the settings it reads (no Docker engine is needed to check that)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import get_commands

BASE_DIR = Path(__file__).resolve().parent.parent
yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "compose.yaml").read_text())


def test_compose_has_the_whole_stack(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "celery"}
    for name in ("web", "worker", "celery"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["web"]["command"] == ["gunicorn", "-c", "studio/gunicorn.py", "studio.wsgi"]


def test_every_variable_compose_sets_is_one_the_studio_reads(compose):
    read = (BASE_DIR / "studio" / "settings.py").read_text()
    read += (BASE_DIR / "studio" / "gunicorn.py").read_text()
    # A Celery worker reaches the studio through its API (STUDIO_URL, STUDIO_TOKEN, ...).
    read += (BASE_DIR / "runs" / "executors" / "tasks.py").read_text()
    for name in ("web", "worker", "celery", "migrate"):
        for variable in compose["services"][name]["environment"]:
            # boto3 reads the AWS_* credentials itself.
            assert variable.startswith("AWS_") or f'"{variable}"' in read, variable


def test_the_celery_worker_serves_a_target_through_the_api(compose):
    celery = compose["services"]["celery"]
    command = celery["command"]
    assert command[:4] == ["celery", "-A", "studio", "worker"]
    assert command[command.index("-Q") + 1] == "${CELERY_TARGET:-gpu}"
    assert celery["environment"]["STUDIO_URL"] == "http://web:8000"
    # Started on request: it needs a token, made once the studio runs.
    assert celery["profiles"] == ["celery"]


@pytest.mark.parametrize("service", ["migrate", "worker"])
def test_compose_commands_exist(compose, service):
    command = compose["services"][service]["command"]
    assert command[:2] == ["python", "manage.py"]
    assert command[2] in get_commands()


def test_dockerfile_copies_what_exists():
    text = (BASE_DIR / "bin" / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.MULTILINE):
        for source in line.split()[:-1]:
            assert (BASE_DIR / source).exists(), source
