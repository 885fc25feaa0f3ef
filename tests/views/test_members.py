"""The members page: everyone reads it, owners invite, change roles and remove.

Inviting never tells an owner whether an account exists, and a workspace joins
someone's home page only when they accept.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from runs import services
from runs.exceptions import ValidationFailed
from runs.models import Invitation, Membership, Role
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
    assert ('name="invitee"' in html) is (role == "owner")


def test_outsiders_get_404(outsider_client, workspace):
    assert outsider_client.get(URL).status_code == 404
    response = outsider_client.post(URL, {"action": "invite", "invitee": "outsider"})
    assert response.status_code == 404
    assert "outsider" not in roles(workspace)
    assert not Invitation.objects.exists()


def _actions(workspace):
    target = UserFactory(username="target")
    MembershipFactory(workspace=workspace, user=target, role=Role.READER)
    UserFactory(username="newcomer")
    return {
        "invite": {"action": "invite", "invitee": "newcomer", "role": "contributor"},
        "role": {"action": "role", "user_id": target.pk, "role": "contributor"},
        "remove": {"action": "remove", "user_id": target.pk},
    }


EXPECTED = {"reader": 403, "contributor": 403, "owner": 200, "outsider": 404}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", ["invite", "role", "remove"])
def test_only_owners_manage_members(request, workspace, role, action):
    data = _actions(workspace)[action]
    client = request.getfixturevalue(f"{role}_client")
    before = roles(workspace)
    response = client.post(URL, data, headers=HX)
    assert response.status_code == EXPECTED[role]
    if EXPECTED[role] == 200:
        changed = Invitation.objects.exists() if action == "invite" else roles(workspace) != before
        assert changed
        assert "<html" not in response.content.decode()
        assert "showToast" in response["HX-Trigger"]
    else:
        assert roles(workspace) == before
    if EXPECTED[role] == 403:
        assert "owner role" in response.content.decode()


def test_inviting_accepting_changing_and_removing(owner_client, workspace):
    ada = UserFactory(username="ada")
    owner_client.post(URL, {"action": "invite", "invitee": " ada ", "role": "reader"}, headers=HX)
    assert "ada" not in roles(workspace)
    ada_client = Client()
    ada_client.force_login(ada)
    home = ada_client.get(reverse("runs:home"))
    assert home.status_code == 200
    invitation = Invitation.objects.get(workspace=workspace)
    assert f"invitation-{invitation.pk}" in home.content.decode()
    accepted = ada_client.post(reverse("runs:invitation-accept", args=[invitation.pk]))
    assert accepted.status_code == 302
    assert roles(workspace)["ada"] == "reader"
    assert not Invitation.objects.exists()
    ada = Membership.objects.get(workspace=workspace, user__username="ada").user
    owner_client.post(URL, {"action": "role", "user_id": ada.pk, "role": "owner"}, headers=HX)
    assert roles(workspace)["ada"] == "owner"
    response = owner_client.post(URL, {"action": "remove", "user_id": ada.pk}, headers=HX)
    assert response.status_code == 200
    assert "Removed ada" in response["HX-Trigger"]
    assert "ada" not in roles(workspace)


BAD = [
    ({"action": "invite", "invitee": ""}, "Enter a username or an email address"),
    ({"action": "invite", "invitee": "   "}, "Enter a username or an email address"),
    ({"action": "invite", "invitee": "owner", "role": "reader"}, "already a member"),
    ({"action": "invite", "invitee": "ada", "role": "admin"}, "is not a role"),
    ({"action": "invite", "invitee": "a\x01b", "role": "reader"}, "control characters"),
    ({"action": "invite", "invitee": "x" * 300, "role": "reader"}, "At most 254"),
    ({"action": "uninvite", "invitation_id": 999_999}, "no such invitation"),
    ({"action": "uninvite"}, "no such invitation"),
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
    assert message.lower() in html.lower()
    assert "<html" not in html
    assert roles(workspace) == before
    assert not Invitation.objects.exists()


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
        URL, {"action": "invite", "invitee": "ada", "role": "contributor"}, follow=True
    )
    assert response.redirect_chain == [(URL, 302)]
    assert "Invited ada as contributor" in response.content.decode()


def test_bad_input_without_javascript_renders_the_page_with_422(owner_client, workspace):
    response = owner_client.post(URL, {"action": "invite", "invitee": "", "role": "reader"})
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "Enter a username or an email address" in response.content.decode()


def test_member_writes_need_the_csrf_token(owner_client, workspace):
    UserFactory(username="ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_client.user)
    data = {"action": "invite", "invitee": "ada", "role": "reader"}
    assert client.post(URL, data, headers=HX).status_code == 403
    assert not Invitation.objects.exists()
    client.get(URL)
    token = client.cookies["csrftoken"].value
    assert client.post(URL, data, headers={**HX, "X-CSRFToken": token}).status_code == 200
    assert Invitation.objects.get().invitee == "ada"


@pytest.mark.parametrize("invitee", ["ada", "nobody-has-this-name", "ada@example.com", "x@y.org"])
def test_an_invitation_reads_the_same_whether_or_not_the_account_exists(
    owner_client, workspace, invitee
):
    """An owner of one workspace cannot probe which usernames or addresses exist."""
    UserFactory(username="ada", email="ada@example.com")
    response = owner_client.post(URL, {"action": "invite", "invitee": invitee, "role": "reader"})
    assert response.status_code == 302
    shown = owner_client.get(URL).content.decode()
    assert f"Invited {invitee} as reader: they become a member when they accept." in shown
    assert "ada" not in roles(workspace)


def test_a_stranger_is_not_put_on_anyones_home_page_without_consent(owner_client, workspace):
    ada = UserFactory(username="ada", email="Ada@Example.com")
    UserFactory(username="other", email="other@example.com")
    owner_client.post(URL, {"action": "invite", "invitee": "ADA@example.com", "role": "owner"})
    client = Client()
    client.force_login(ada)
    assert workspace.slug not in [w.slug for w in ada.workspaces.all()]
    assert client.get(reverse("runs:workspace-home", args=[workspace.slug])).status_code == 404
    home = client.get(reverse("runs:home")).content.decode()
    assert "Accept" in home
    assert "Decline" in home
    invitation = Invitation.objects.get()
    # Someone else cannot accept it, nor see it.
    other = Client()
    other.force_login(UserFactory(username="other"))
    assert "invitation-" not in other.get(reverse("runs:home")).content.decode()
    url = reverse("runs:invitation-accept", args=[invitation.pk])
    assert other.post(url).status_code == 404
    declined = client.post(reverse("runs:invitation-decline", args=[invitation.pk]))
    assert declined.status_code == 302
    assert "ada" not in roles(workspace)
    assert not Invitation.objects.exists()


def test_owners_withdraw_invitations(owner_client, workspace):
    owner_client.post(URL, {"action": "invite", "invitee": "ada", "role": "reader"})
    invitation = Invitation.objects.get()
    page = owner_client.get(URL).content.decode()
    assert f"invitation-{invitation.pk}" in page
    response = owner_client.post(
        URL, {"action": "uninvite", "invitation_id": invitation.pk}, headers=HX
    )
    assert response.status_code == 200
    assert not Invitation.objects.exists()


def test_the_old_members_address_redirects(reader_client, outsider_client, workspace):
    old = f"/w/{workspace.slug}/members/"
    response = reader_client.get(old)
    assert response.status_code == 301
    assert response["Location"] == URL
    assert outsider_client.get(old).status_code == 404


def test_members_page_queries_do_not_grow(owner_client, workspace, django_assert_num_queries):
    owner_client.get(URL)
    # session, user, membership+workspace, memberships+users, invitations
    with django_assert_num_queries(5):
        owner_client.get(URL)
    for i in range(20):
        MembershipFactory(workspace=workspace, user=UserFactory(username=f"m{i}"))
        Invitation.objects.create(
            workspace=workspace, invitee=f"i{i}", invited_by=owner_client.user
        )
    with django_assert_num_queries(5):
        owner_client.get(URL)
