"""Where alert webhooks may go: public addresses, and the networks a setting names.

A webhook URL is written by a workspace member and fetched by the studio's server,
inside its network: without a rule, a rule's URL could reach the studio's own
database port, a cloud metadata service (169.254.169.254) or any internal host
(server-side request forgery). So every address a webhook's host resolves to must be
global (not loopback, private, link-local, shared, reserved, multicast or
unspecified) unless it lies in STUDIO_WEBHOOK_ALLOWED_NETWORKS. The check runs at
delivery, after DNS resolution, and the connection is made to the address checked,
so a name that resolves elsewhere a moment later (DNS rebinding) changes nothing.
Redirects are not followed and proxies from the environment are not used (either
would send the request somewhere unchecked).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The webhook's host is, or resolves to, an address webhooks may not reach."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS]


def address_allowed(address: Address) -> bool:
    """Whether a webhook may connect to `address`."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return True
    return address.is_global and not address.is_multicast


def _refusal(host: str, address: Address) -> str:
    named = str(address) if host == str(address) else f"{host} resolves to {address}"
    return (
        f"the webhook's host {named}, an address webhooks may not reach (not a public "
        "address); an administrator can allow its network with STUDIO_WEBHOOK_ALLOWED_NETWORKS"
    )


def check_literal(url: str) -> None:
    """AddressRefused for a URL whose host is an IP address (or `localhost`) webhooks may
    not reach: said when the rule is saved. Names are resolved at delivery."""
    host = (urlsplit(url).hostname or "").strip("[]")
    if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
        address = ipaddress.ip_address("127.0.0.1")
    else:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
    if not address_allowed(address):
        raise AddressRefused(_refusal(host, address))


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to for `host`: every address it resolves to must be
    allowed (AddressRefused otherwise); the first is used."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not address_allowed(address):
            raise AddressRefused(_refusal(host, address))
    return str(addresses[0])


class _Checked:
    """A urllib3 connection that connects to the checked address of its host; TLS still
    verifies the certificate against the host's name."""

    def _new_conn(self) -> socket.socket:
        self._dns_host = resolve_checked(self._dns_host, self.port)
        return super()._new_conn()


class _CheckedHTTPConnection(_Checked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_Checked, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def post(url: str, *, json: object, timeout: float, headers: dict) -> requests.Response:
    """POST `json` to the webhook `url`, to a checked address only, without redirects."""
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", _CheckedAdapter())
        session.mount("https://", _CheckedAdapter())
        return session.post(url, json=json, timeout=timeout, headers=headers, allow_redirects=False)
