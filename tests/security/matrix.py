"""The authorisation matrix's machinery: URLs from the URL configuration, outcomes, fingerprints.

Every studio URL pattern comes from Django's resolver and every API operation
from django-ninja's routers, so a new endpoint shows up here by itself; the
tests then demand an expectation for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from runs.api.api import api

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Namespaces the page matrix leaves to others: the API has its own matrix (by
# operation), the admin its own test (staff only).
OTHER_MATRICES = ("admin", "api")

# Outcomes a response is sorted into.
OK, LOGIN = "ok", "login"


@dataclass(frozen=True)
class Page:
    name: str  # "runs:run-detail", "login"
    route: str
    params: tuple[str, ...]

    def url(self, kwargs: dict[str, str]) -> str:
        return reverse(self.name, kwargs={p: kwargs[p] for p in self.params})


def _walk(patterns: list, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, ns)
        else:
            yield namespace, p


def url_patterns() -> list[tuple[str, URLPattern]]:
    """(namespace prefix, pattern) for every URL pattern the project serves."""
    return list(_walk(get_resolver().url_patterns))


def pages() -> list[Page]:
    """Every named pattern outside the API and the admin."""
    found = []
    for ns, p in url_patterns():
        if ns.rstrip(":").split(":")[0] in OTHER_MATRICES:
            continue
        params = tuple(getattr(p.pattern, "converters", None) or p.pattern.regex.groupindex)
        found.append(Page(f"{ns}{p.name}", str(p.pattern), params))
    return found


def api_operations() -> list[str]:
    """Every API operation as "METHOD /w/{ws}/runs/{run_id}", from ninja's routers."""
    found = []
    for _, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                found += [f"{m} {path}" for m in operation.methods]
    return sorted(found)


def api_url(operation: str, kwargs: dict[str, str]) -> str:
    _, path = operation.split(" ", 1)
    return "/api" + path.format(**kwargs)


def outcome(response: HttpResponse) -> str:
    """What an answer means for authorisation: ok, login, or the refusal's status."""
    code = response.status_code
    if code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL)):
        return LOGIN
    if code in (401, 403, 404, 405):
        return str(code)
    # A 400/409/422 is the body's fault (the matrix sends empty ones): access was granted.
    if 200 <= code < 400 or code in (400, 409, 413, 422):
        return OK
    return f"unexpected {code}"


# Columns that reading something may move without changing anything.
_VOLATILE = {"last_login", "last_used", "last_seen"}


def fingerprint() -> str:
    """A digest of every row the studio stores (its own app and its users)."""
    digest = hashlib.sha256()
    models = [*apps.get_app_config("runs").get_models(), get_user_model()]
    for model in sorted(models, key=lambda m: m._meta.label):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in _VOLATILE]
        rows = model._default_manager.order_by("pk").values_list(*fields)
        digest.update(model._meta.label.encode())
        digest.update(repr(list(rows)).encode())
    return digest.hexdigest()


def send(client: Client, method: str, url: str, baseline: str, **extra) -> tuple[str, bool, int]:
    """A request's outcome, whether a refusal changed any row, its status; writes undone.

    The client's cookies are kept as they were (a logout must not log the role out).
    """
    cookies = client.cookies
    client.cookies = type(cookies)(cookies)
    try:
        with transaction.atomic():
            response = getattr(client, method.lower())(url, **extra)
            result = outcome(response)
            changed = result != OK and fingerprint() != baseline
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    return result, changed, response.status_code
