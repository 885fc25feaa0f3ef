"""The members page: everyone reads it, owners add, change roles and remove."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from runs import services
from runs.exceptions import ValidationFailed
from runs.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

HX = {"HX-Request": "true"}
URL = reverse("runs:members", args=["team"])


def roles(workspace) -> dict[str, str]:
    return dict(
        Membership.objects.filter(workspace=workspace).values_list("user__username", "role")
    )


@pytest.mark.parametrize("role", ["reader", "contributor", "owner"])
def test_members_see_the_list(request, role, workspace):
    MembershipFactory(workspace=workspace, user=UserFactory(username="grace"), role=Role.OWNER)
    client = request.getfixturevalue(f"{role}_client")
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "grace" in html
    assert role in html
    assert ('name="username"' in html) is (role == "owner")


def test_outsiders_get_404(outsider_client, workspace):
    assert outsider_client.get(URL).status_code == 404
    response = outsider_client.post(URL, {"action": "add", "username": "outsider"})
    assert response.status_code == 404
    assert "outsider" not in roles(workspace)


def _actions(workspace):
    target = UserFactory(username="target")
    MembershipFactory(workspace=workspace, user=target, role=Role.READER)
    UserFactory(username="newcomer")
    return {
        "add": {"action": "add", "username": "newcomer", "role": "contributor"},
        "role": {"action": "role", "user_id": target.pk, "role": "contributor"},
        "remove": {"action": "remove", "user_id": target.pk},
    }


EXPECTED = {"reader": 403, "contributor": 403, "owner": 200, "outsider": 404}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", ["add", "role", "remove"])
def test_only_owners_manage_members(request, workspace, role, action):
    data = _actions(workspace)[action]
    client = request.getfixturevalue(f"{role}_client")
    before = roles(workspace)
    response = client.post(URL, data, headers=HX)
    assert response.status_code == EXPECTED[role]
    if EXPECTED[role] == 200:
        assert roles(workspace) != before
        assert "<html" not in response.content.decode()
        assert "showToast" in response["HX-Trigger"]
    else:
        assert roles(workspace) == before
    if EXPECTED[role] == 403:
        assert "owner role" in response.content.decode()


def test_adding_changing_and_removing(owner_client, workspace):
    UserFactory(username="ada")
    owner_client.post(URL, {"action": "add", "username": " ada ", "role": "reader"}, headers=HX)
    assert roles(workspace)["ada"] == "reader"
    ada = Membership.objects.get(workspace=workspace, user__username="ada").user
    owner_client.post(URL, {"action": "role", "user_id": ada.pk, "role": "owner"}, headers=HX)
    assert roles(workspace)["ada"] == "owner"
    response = owner_client.post(URL, {"action": "remove", "user_id": ada.pk}, headers=HX)
    assert response.status_code == 200
    assert "Removed ada" in response["HX-Trigger"]
    assert "ada" not in roles(workspace)


BAD = [
    ({"action": "add", "username": ""}, "Enter a username"),
    ({"action": "add", "username": "nobody", "role": "reader"}, "no user called"),
    ({"action": "add", "username": "owner", "role": "reader"}, "already a member"),
    ({"action": "add", "username": "ada", "role": "admin"}, "Select a valid choice"),
    ({"action": "role", "user_id": "x", "role": "reader"}, "Enter a whole number"),
    ({"action": "role", "role": "reader"}, "No user was sent"),
    ({"action": "role", "user_id": 999_999, "role": "reader"}, "not a member"),
    ({"action": "role", "user_id": "{owner}", "role": "god"}, "is not a role"),
    ({"action": "remove", "user_id": 999_999}, "not a member"),
    ({"action": "remove", "user_id": "{owner}"}, "last owner"),
    ({"action": "role", "user_id": "{owner}", "role": "reader"}, "last owner"),
    ({"action": "promote"}, "Unknown action"),
    ({}, "Unknown action"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_member_requests_get_a_message_not_a_500(owner_client, workspace, data, message):
    UserFactory(username="ada")
    data = {k: (owner_client.user.pk if v == "{owner}" else v) for k, v in data.items()}
    before = roles(workspace)
    response = owner_client.post(URL, data, headers=HX)
    assert response.status_code in (400, 422)
    html = response.content.decode()
    assert message in html
    assert "<html" not in html
    assert roles(workspace) == before


def test_the_last_owner_can_leave_once_there_is_another(owner_client, workspace):
    other = UserFactory(username="heir")
    services.membership_set(workspace=workspace, user=other, role=Role.OWNER)
    response = owner_client.post(
        URL, {"action": "remove", "user_id": owner_client.user.pk}, headers=HX
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("runs:home")
    assert roles(workspace) == {"heir": "owner"}


def test_membership_remove_refuses_the_last_owner(workspace):
    owner = UserFactory(username="solo")
    services.membership_set(workspace=workspace, user=owner, role=Role.OWNER)
    with pytest.raises(ValidationFailed, match="last owner"):
        services.membership_remove(workspace=workspace, user=owner)
    with pytest.raises(ValidationFailed, match="last owner"):
        services.membership_set(workspace=workspace, user=owner, role=Role.READER)
    assert roles(workspace) == {"solo": "owner"}


def test_without_javascript_writes_redirect_with_a_message(owner_client, workspace):
    UserFactory(username="ada")
    response = owner_client.post(
        URL, {"action": "add", "username": "ada", "role": "contributor"}, follow=True
    )
    assert response.redirect_chain == [(URL, 302)]
    assert "Added ada as contributor." in response.content.decode()


def test_bad_input_without_javascript_renders_the_page_with_422(owner_client, workspace):
    response = owner_client.post(URL, {"action": "add", "username": "nobody", "role": "reader"})
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "no user called" in response.content.decode()


def test_member_writes_need_the_csrf_token(owner_client, workspace):
    UserFactory(username="ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_client.user)
    data = {"action": "add", "username": "ada", "role": "reader"}
    assert client.post(URL, data, headers=HX).status_code == 403
    assert "ada" not in roles(workspace)
    client.get(URL)
    token = client.cookies["csrftoken"].value
    assert client.post(URL, data, headers={**HX, "X-CSRFToken": token}).status_code == 200
    assert roles(workspace)["ada"] == "reader"


def test_members_page_queries_do_not_grow(owner_client, workspace, django_assert_num_queries):
    owner_client.get(URL)
    # session, user, membership+workspace, memberships+users
    with django_assert_num_queries(4):
        owner_client.get(URL)
    for i in range(20):
        MembershipFactory(workspace=workspace, user=UserFactory(username=f"m{i}"))
    with django_assert_num_queries(4):
        owner_client.get(URL)
