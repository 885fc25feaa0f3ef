"""Sign-in throttling: wrong passwords lock out a username and an address for a while,
with a clear page (429, Retry-After), and an administrator's reset lifts it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.STUDIO_LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def sign_in(username: str, password: str, address: str = "10.0.0.1", **extra):
    client = Client(REMOTE_ADDR=address)
    data = {"username": username, "password": password, "next": "/"}
    return client.post(LOGIN, data, **extra)


def test_the_right_password_signs_in(alice):
    assert sign_in("alice", "password").status_code == 302


def test_wrong_passwords_below_the_limit_get_the_usual_message(alice):
    for _ in range(2):
        response = sign_in("alice", "nope")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()


def test_a_username_is_locked_out_after_the_limit_from_any_address(alice):
    for i in range(3):
        sign_in("alice", "nope", address=f"10.0.0.{i}")
    response = sign_in("alice", "password", address="10.9.9.9")
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-ins for this username or from this address" in body
    assert "locked for 15 minutes" in body
    assert response["Retry-After"] == "900"
    assert 'name="username"' in body  # the form is still there
    assert "_auth_user_id" not in response.client.session


def test_an_address_is_locked_out_whatever_the_username(alice):
    for name in ("bob", "carol", "dave"):
        sign_in(name, "nope", address="10.0.0.7")
    assert sign_in("alice", "password", address="10.0.0.7").status_code == 429
    # The same person elsewhere is not locked out.
    assert sign_in("alice", "password", address="10.0.0.8").status_code == 302


def test_a_right_password_resets_the_count(alice):
    sign_in("alice", "nope")
    sign_in("alice", "nope")
    assert sign_in("alice", "password").status_code == 302
    sign_in("alice", "nope")
    sign_in("alice", "nope")
    assert sign_in("alice", "password").status_code == 302


def test_the_lockout_ends_after_its_minutes(alice):
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            sign_in("alice", "nope")
        assert sign_in("alice", "password").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert sign_in("alice", "password").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=30), tick=False):
        assert sign_in("alice", "password").status_code == 302


@pytest.mark.parametrize(
    ("command", "args"),
    [("axes_reset_username", ["alice"]), ("axes_reset_ip", ["10.0.0.1"]), ("axes_reset", [])],
)
def test_an_administrator_lifts_a_lockout(alice, command, args):
    for _ in range(3):
        sign_in("alice", "nope")
    assert sign_in("alice", "password").status_code == 429
    call_command(command, *args, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert sign_in("alice", "password").status_code == 302


def test_the_admin_sign_in_is_throttled_too(db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        Client(REMOTE_ADDR="10.0.0.1").post(
            "/admin/login/", {"username": "root", "password": "nope"}
        )
    assert sign_in("root", "password").status_code == 429


def test_behind_a_proxy_the_address_is_the_one_the_proxy_added(alice, settings):
    settings.BEHIND_PROXY = True
    for i in range(3):
        # The client may write anything first; the proxy appends what it saw.
        forwarded = f"1.2.3.{i}, 10.0.0.5"
        sign_in(f"user{i}", "nope", address="192.168.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    locked = sign_in("alice", "password", HTTP_X_FORWARDED_FOR="10.0.0.5")
    assert locked.status_code == 429
    free = sign_in("alice", "password", HTTP_X_FORWARDED_FOR="10.0.0.6")
    assert free.status_code == 302
