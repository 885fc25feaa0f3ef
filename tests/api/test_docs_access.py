"""The API docs and schema: signed-in people and token holders by default
(STUDIO_API_DOCS_LOGIN), anyone when the setting is off."""

import pytest
from django.test import Client

from runs import services
from runs.models import ApiToken
from tests.api.helpers import assert_error


def test_anonymous_people_are_sent_to_sign_in_for_the_docs(db):
    response = Client().get("/api/docs")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs"


def test_the_schema_answers_anonymous_clients_401(db):
    response = Client().get("/api/openapi.json")
    assert_error(response, 401, "Unauthorized", "sign in to the studio")
    assert response["WWW-Authenticate"] == 'Bearer realm="studio"'


@pytest.mark.parametrize("path", ["/api/docs", "/api/openapi.json"])
def test_signed_in_people_read_both(reader_client, path):
    assert reader_client.get(path).status_code == 200


def test_a_token_reads_the_schema(api_client):
    assert api_client.get("/api/openapi.json").status_code == 200


@pytest.mark.parametrize("header", ["Bearer rhs_not-a-token", "Bearer ", "Basic eDp5"])
def test_a_bad_token_does_not_read_the_schema(db, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/openapi.json")
    assert_error(response, 401, "Unauthorized")


def test_a_revoked_token_is_told_so(api_client):
    services.token_revoke(token=ApiToken.objects.get(user=api_client.user))
    assert_error(api_client.get("/api/openapi.json"), 401, "Unauthorized", "was revoked")


@pytest.mark.parametrize("path", ["/api/docs", "/api/openapi.json"])
def test_with_the_setting_off_anyone_reads_them(db, settings, path):
    settings.STUDIO_API_DOCS_LOGIN = False
    assert Client().get(path).status_code == 200
