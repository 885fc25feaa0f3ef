"""Each API token has a request budget (STUDIO_API_RATE_LIMIT a STUDIO_API_RATE_WINDOW);
past it, 429 with Retry-After until the window ends."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache

from tests.api.helpers import assert_error


@pytest.fixture(autouse=True)
def _budget(settings):
    settings.STUDIO_API_RATE_LIMIT = 3
    settings.STUDIO_API_RATE_WINDOW = 60.0
    cache.clear()
    yield
    cache.clear()


def test_past_the_budget_a_token_gets_429_with_retry_after(api_client):
    with time_machine.travel(1_800_000_010.0, tick=False):
        for _ in range(3):
            assert api_client.get("/api/workspaces").status_code == 200
        response = api_client.get("/api/workspaces")
    assert_error(response, 429, "TooManyRequests", "more than 3 requests in 60 seconds")
    assert response["Retry-After"] == "50"


def test_the_budget_comes_back_with_the_next_window(api_client):
    with time_machine.travel(1_800_000_010.0, tick=False):
        for _ in range(4):
            api_client.get("/api/workspaces")
    with time_machine.travel(1_800_000_061.0, tick=False):
        assert api_client.get("/api/workspaces").status_code == 200


def test_each_token_has_its_own_budget(api_client, make_api_client, api_user):
    other = make_api_client(api_user)
    for _ in range(4):
        api_client.get("/api/workspaces")
    assert api_client.get("/api/workspaces").status_code == 429
    assert other.get("/api/workspaces").status_code == 200


def test_writes_refused_for_the_budget_store_nothing(api_client, run):
    for _ in range(3):
        api_client.get("/api/workspaces")
    body = {"set": {"quality": "great"}}
    response = api_client.patch_json(f"/api/w/team/runs/{run.id}/tags", body)
    assert response.status_code == 429
    assert not run.tags.exists()


def test_a_limit_of_zero_turns_the_budget_off(api_client, settings):
    settings.STUDIO_API_RATE_LIMIT = 0
    for _ in range(10):
        assert api_client.get("/api/workspaces").status_code == 200


def test_the_schema_states_the_429(api_client):
    schema = api_client.get("/api/openapi.json").json()
    answers = schema["paths"]["/api/w/{ws}/runs/{run_id}"]["get"]["responses"]
    assert "429" in answers
