"""Webhooks reach public addresses only (and the networks STUDIO_WEBHOOK_ALLOWED_NETWORKS
names), checked after DNS resolution at delivery, connecting to the address checked;
no redirects, no proxies from the environment."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from runs import services
from runs.models import Notification
from runs.notifications import webhooks
from runs.notifications.sender import notifications_send_due
from tests.api.helpers import assert_error
from tests.conftest import ApiClient
from tests.factories import RunFactory
from tests.notifications.conftest import rule
from tests.notifications.test_webhook import Hook


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1",  # noqa: S104
        "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
        "::ffff:169.254.169.254", "ff02::1",
    ],
)  # fmt: skip
def test_addresses_outside_the_internet_are_refused(settings, address):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = []
    assert not webhooks.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(settings, address):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = []
    assert webhooks.address_allowed(ipaddress.ip_address(address))


def test_the_setting_allows_named_networks(settings):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16", "fd00::/8"]
    assert webhooks.address_allowed(ipaddress.ip_address("10.20.3.4"))
    assert webhooks.address_allowed(ipaddress.ip_address("fd00::5"))
    assert not webhooks.address_allowed(ipaddress.ip_address("10.21.0.1"))


def test_a_webhook_to_loopback_fails_without_being_sent(
    hook, settings, workspace, owner, experiment
):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = []
    rule(workspace, owner, on_failed=True, webhook=hook.url)
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().failed == 1
    row = Notification.objects.get()
    assert row.state == "failed"
    assert "127.0.0.1, an address webhooks may not reach" in row.last_error
    assert "STUDIO_WEBHOOK_ALLOWED_NETWORKS" in row.last_error
    assert hook.received == []


def test_a_name_is_checked_after_it_is_resolved(hook, settings, workspace, owner, experiment):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = []
    url = hook.url.replace("127.0.0.1", "localhost")
    rule(workspace, owner, on_failed=True, webhook=url)
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().failed == 1
    assert "localhost resolves to" in Notification.objects.get().last_error
    assert hook.received == []


def _resolving(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """socket.getaddrinfo answering `answers` for those names; the names asked are kept."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            family = {4: socket.AF_INET, 6: socket.AF_INET6}
            return [
                (family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_one_refused_address_among_several_refuses_the_name(
    hook, settings, monkeypatch, workspace, owner, experiment
):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _resolving(monkeypatch, {"hooks.test": ["127.0.0.1", "10.1.2.3"]})
    rule(workspace, owner, on_failed=True, webhook=hook.url.replace("127.0.0.1", "hooks.test"))
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().failed == 1
    assert "hooks.test resolves to 10.1.2.3" in Notification.objects.get().last_error
    assert hook.received == []


def test_the_connection_goes_to_the_address_checked(
    hook, settings, monkeypatch, workspace, owner, experiment
):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    asked = _resolving(monkeypatch, {"hooks.test": ["127.0.0.1"]})
    rule(workspace, owner, on_failed=True, webhook=hook.url.replace("127.0.0.1", "hooks.test"))
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().sent == 1
    # Resolved once, by the check: the socket was opened to the checked address.
    assert asked == ["hooks.test"]
    assert hook.headers[0]["Host"].startswith("hooks.test:")


def test_proxies_from_the_environment_are_not_used(
    hook, settings, monkeypatch, workspace, owner, experiment
):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    rule(workspace, owner, on_failed=True, webhook=hook.url)
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().sent == 1
    assert len(hook.received) == 1


def test_a_redirect_is_not_followed(settings, workspace, owner, experiment):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    target, redirector = Hook(), Hook()
    try:
        redirector.status = 307
        rule(workspace, owner, on_failed=True, webhook=redirector.url)
        services.run_fail(run=RunFactory(experiment=experiment))
        assert notifications_send_due().retrying == 1
        assert "HTTP 307" in Notification.objects.get().last_error
        assert target.received == []
    finally:
        target.close()
        redirector.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://localhost/hook",
    ],
)
def test_a_rule_naming_an_internal_address_is_refused_when_saved(owner, settings, url):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = []
    _, secret = services.token_create(user=owner, name="t")
    client = ApiClient(secret, owner)
    response = client.post_json("/api/w/team/alerts", {"statuses": ["Failed"], "webhook": url})
    assert_error(response, 400, "ValidationError", "an address webhooks may not reach")
