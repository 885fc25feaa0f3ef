"""The authorisation matrix: every URL pattern x every role x every method it accepts.

The patterns come from the URL configuration (Django's resolver for pages and
partials, django-ninja's routers for the API), so an endpoint added without an
expectation here fails `test_every_*_has_an_expectation`. Each request runs in a
savepoint that is rolled back; a refused one must leave every row as it was.

Expected outcomes: `login` (a redirect to the login page), 401 (API without a
token), 404 for non-members, 403 for members whose role is too low, `ok` (2xx or
3xx; 400/409/422 too where the matrix sends no body, as the body's fault).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.security import matrix
from tests.security.matrix import LOGIN, OK
from tests.security.world import (
    ANONYMOUS,
    API_ROLES,
    CONTRIBUTOR,
    OUTSIDER,
    OWNER,
    PAGE_ROLES,
    READER,
    SCOPED,
    World,
    build_world,
)

# What each role gets, by the least role a request needs.
PUBLIC = dict.fromkeys(PAGE_ROLES, OK)
LOGIN_ONLY = {**PUBLIC, ANONYMOUS: LOGIN}
READ = {ANONYMOUS: LOGIN, OUTSIDER: "404", READER: OK, CONTRIBUTOR: OK, OWNER: OK}
WRITE = {**READ, READER: "403"}
OWN = {**WRITE, CONTRIBUTOR: "403"}
# An invitation is its invitee's (the outsider's): to anyone else it does not exist.
INVITEE = {ANONYMOUS: LOGIN, OUTSIDER: OK, READER: "404", CONTRIBUTOR: "404", OWNER: "404"}

Body = dict[str, Any] | Callable[[World], dict[str, Any]] | None

# Page URL name -> {method: (who gets what, the form body sent or None)}.
PAGES: dict[str, dict[str, tuple[dict[str, str], Body]]] = {
    # Django's auth views (PUT is FormView's alias of POST).
    "login": {"GET": (PUBLIC, None), "POST": (PUBLIC, None), "PUT": (PUBLIC, None)},
    # Logging out sends everyone to the login page.
    "logout": {"POST": (dict.fromkeys(PAGE_ROLES, LOGIN), None)},
    "password_change": {
        "GET": (LOGIN_ONLY, None),
        "POST": (LOGIN_ONLY, None),
        "PUT": (LOGIN_ONLY, None),
    },
    "password_change_done": {"GET": (LOGIN_ONLY, None)},
    "password_reset": {"GET": (PUBLIC, None), "POST": (PUBLIC, None), "PUT": (PUBLIC, None)},
    "password_reset_done": {"GET": (PUBLIC, None)},
    # A bad link redirects before the method is looked at: every method "works".
    "password_reset_confirm": dict.fromkeys(matrix.METHODS, (PUBLIC, None)),
    "password_reset_complete": {"GET": (PUBLIC, None)},
    "runs:home": {"GET": (LOGIN_ONLY, None)},
    "runs:invitation-accept": {"POST": (INVITEE, None)},
    "runs:invitation-decline": {"POST": (INVITEE, None)},
    "runs:workspace-home": {"GET": (READ, None)},
    "runs:run-list": {"GET": (READ, None)},
    "runs:experiment-runs": {"GET": (READ, None)},
    "runs:run-list-csv": {"GET": (READ, None)},
    "runs:experiment-runs-csv": {"GET": (READ, None)},
    "runs:run-list-live": {"GET": (READ, None)},
    "runs:run-list-names": {"GET": (READ, None)},
    "runs:run-list-count": {"GET": (READ, None)},
    "runs:experiment-runs-count": {"GET": (READ, None)},
    "runs:run-children": {"GET": (READ, None)},
    "runs:run-bulk": {
        "POST": (WRITE, lambda w: {"action": "tag-add", "runs": [w.run.pk], "key": "seen"})
    },
    "runs:settings": {"GET": (READ, None)},
    "runs:members-moved": {"GET": (READ, None)},
    "runs:members": {
        "GET": (READ, None),
        "POST": (OWN, {"action": "invite", "invitee": "newcomer", "role": "reader"}),
    },
    # Every member has tokens of their own; another's token is not theirs to revoke.
    "runs:tokens": {"GET": (READ, None), "POST": (READ, {"name": "laptop"})},
    "runs:token-revoke": {
        "POST": (
            {**WRITE, READER: "404", CONTRIBUTOR: "404"},
            lambda w: {"token_id": w.tokens[OWNER].pk},
        )
    },
    # Personal rules are every member's; the workspace rule is its owners'.
    "runs:alerts": {"GET": (READ, None)},
    "runs:alert-create": {
        "GET": (READ, None),
        "POST": (READ, {"name": "mine", "scope": "personal", "statuses": ["Failed"]}),
    },
    "runs:status-events": {"GET": (READ, None)},
    "runs:alert-outbox": {"GET": (READ, None)},
    "runs:alert-from-view": {"GET": (READ, None)},
    "runs:alert-detail": {"GET": (READ, None)},
    "runs:alert-edit": {
        "GET": (OWN, None),
        "POST": (
            OWN,
            {
                "name": "renamed",
                "scope": "workspace",
                "statuses": ["Completed"],
                "emails": "ops@example.com",
            },
        ),
    },
    "runs:alert-delete": {"POST": (OWN, {})},
    # Muting a workspace rule is for oneself: every member may.
    "runs:alert-mute": {"POST": (READ, {"muted": "1"})},
    "runs:compute-targets": {
        "GET": (READ, None),
        "POST": (OWN, {"action": "create", "name": "tpu", "executor": "celery"}),
    },
    "runs:saved-views": {"GET": (READ, None)},
    "runs:saved-view-menu": {"GET": (READ, None)},
    "runs:saved-view": {"GET": (READ, None)},
    "runs:saved-view-list": {"GET": (READ, None)},
    "runs:saved-view-history": {"GET": (READ, None)},
    # A private view of one's own: every member may save one.
    "runs:saved-view-create": {"POST": (READ, {"name": "mine", "state": "status=Failed"})},
    "runs:saved-view-save": {"POST": (WRITE, {"state": "status=Failed"})},
    "runs:saved-view-settings": {"POST": (WRITE, {"name": "renamed"})},
    "runs:saved-view-charts": {
        "POST": (WRITE, {"action": "add", "type": "line", "metric": "loss"})
    },
    "runs:saved-view-delete": {"GET": (WRITE, None), "POST": (WRITE, {})},
    "runs:saved-view-restore": {"POST": (WRITE, {"version_to_restore": "1"})},
    "runs:saved-view-default": {"POST": (OWN, {"pin": "1"})},
    "runs:compare": {"GET": (READ, None)},
    "runs:chart-series": {"GET": (READ, None)},
    "runs:chart-values": {"GET": (READ, None)},
    "runs:metric-csv": {"GET": (READ, None)},
    "runs:run-detail": {"GET": (READ, None)},
    "runs:run-part": {"GET": (READ, None)},
    "runs:run-status": {"GET": (READ, None)},
    "runs:run-metrics": {"GET": (READ, None)},
    "runs:run-file": {"GET": (READ, None)},
    "runs:run-log": {"GET": (READ, None)},
    "runs:run-tags": {"POST": (WRITE, {"action": "add", "key": "seen", "value": "yes"})},
    "runs:run-description": {"POST": (WRITE, {"description": "# Notes"})},
    "runs:run-description-preview": {"POST": (WRITE, {"description": "# Notes"})},
    "runs:run-display-name": {"POST": (WRITE, {"display_name": "better"})},
    "runs:run-cancel": {"POST": (WRITE, {})},
}


def _api(need: dict[str, str], scoped: str) -> dict[str, str]:
    return {**need, ANONYMOUS: "401", SCOPED: scoped}


# The run-scoped token is limited to a sibling of the run the URLs name: that run
# is outside its tree (404), workspace-wide writes are not its to make (403).
A_READ = {OUTSIDER: "404", READER: OK, CONTRIBUTOR: OK, OWNER: OK}
A_WRITE = {**A_READ, READER: "403"}
A_OWN = {**A_WRITE, CONTRIBUTOR: "403"}


def _snapshot() -> SimpleUploadedFile:
    return SimpleUploadedFile("snapshot.tar.gz", _tar_gz(), content_type="application/gzip")


def _tar_gz() -> bytes:
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"print('hi')\n"
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _submit(w: World) -> dict[str, Any]:
    return {
        "spec": json.dumps({"experiment": "mnist", "script": "train.py"}),
        "snapshot": _snapshot(),
    }


SERIES = [{"name": "loss", "values": [0.1]}]

# API operation -> (who gets what, the body: JSON, or `multipart` with files, or None).
API: dict[str, tuple[dict[str, str], Body]] = {
    "GET /workspaces": (_api({**A_READ, OUTSIDER: OK}, OK), None),
    "GET /w/{ws}/experiments": (_api(A_READ, OK), None),
    "POST /w/{ws}/experiments": (_api(A_WRITE, "403"), {"name": "cifar"}),
    "GET /w/{ws}/runs": (_api(A_READ, OK), None),
    "POST /w/{ws}/runs": (_api(A_WRITE, "403"), {"experiment": "mnist"}),
    "GET /w/{ws}/runs/{run_id}": (_api(A_READ, "404"), None),
    "PATCH /w/{ws}/runs/{run_id}": (_api(A_WRITE, "404"), {"displayName": "x"}),
    "POST /w/{ws}/runs/{run_id}/status": (_api(A_WRITE, "404"), {"status": "Finalizing"}),
    "POST /w/{ws}/runs/{run_id}/complete": (_api(A_WRITE, "404"), {}),
    "POST /w/{ws}/runs/{run_id}/fail": (_api(A_WRITE, "404"), {"message": "bad"}),
    "POST /w/{ws}/runs/{run_id}/cancel": (_api(A_WRITE, "404"), {}),
    "PATCH /w/{ws}/runs/{run_id}/tags": (_api(A_WRITE, "404"), {"set": {"seen": "yes"}}),
    "POST /w/{ws}/runs/{run_id}/properties": (
        _api(A_WRITE, "404"),
        {"properties": {"seed": "1"}},
    ),
    "POST /w/{ws}/runs/{run_id}/children": (_api(A_WRITE, "404"), {"count": 1}),
    "GET /w/{ws}/runs/{run_id}/children": (_api(A_READ, "404"), None),
    "POST /w/{ws}/runs/{run_id}/heartbeat": (_api(A_WRITE, "404"), {}),
    # A run outside the token's tree is answered as missing, and not beaten.
    "POST /w/{ws}/heartbeats": (_api(A_WRITE, OK), lambda w: {"runIds": [w.run.pk]}),
    "POST /w/{ws}/runs/{run_id}/metrics": (_api(A_WRITE, "404"), {"series": SERIES}),
    "GET /w/{ws}/runs/{run_id}/metrics": (_api(A_READ, "404"), None),
    "POST /w/{ws}/metrics": (
        _api(A_WRITE, "404"),
        lambda w: {"runs": [{"runId": w.run.pk, "series": SERIES}]},
    ),
    "GET /w/{ws}/runs/{run_id}/metrics/series?name=loss": (_api(A_READ, "404"), None),
    "GET /w/{ws}/metrics/series?name=loss&runs={run_id}": (_api(A_READ, "404"), None),
    "POST /w/{ws}/runs/{run_id}/files": (
        _api(A_WRITE, "404"),
        lambda w: {"multipart": {"file": SimpleUploadedFile("out.txt", b"x"), "name": "o.txt"}},
    ),
    "GET /w/{ws}/runs/{run_id}/files": (_api(A_READ, "404"), None),
    "GET /w/{ws}/runs/{run_id}/files/content?name=outputs/model.txt": (
        _api(A_READ, "404"),
        None,
    ),
    "POST /w/{ws}/runs/{run_id}/logs?name=logs/std_log.txt&offset=8": (
        _api(A_WRITE, "404"),
        {"raw": b"epoch 2\n"},
    ),
    "GET /w/{ws}/views": (_api(A_READ, "403"), None),
    "POST /w/{ws}/views": (_api(A_READ, "403"), {"name": "mine"}),
    "GET /w/{ws}/views/{view_id}": (_api(A_READ, "403"), None),
    "PATCH /w/{ws}/views/{view_id}": (_api(A_WRITE, "403"), {"name": "renamed"}),
    "DELETE /w/{ws}/views/{view_id}": (_api(A_WRITE, "403"), None),
    "POST /w/{ws}/views/{view_id}/restore": (_api(A_WRITE, "403"), {"version": 1}),
    "GET /w/{ws}/views/{view_id}/runs": (_api(A_READ, "403"), None),
    "GET /w/{ws}/events": (_api(A_READ, "403"), None),
    "GET /w/{ws}/alerts": (_api(A_READ, "403"), None),
    "POST /w/{ws}/alerts": (_api(A_READ, "403"), {"scope": "personal", "statuses": ["Failed"]}),
    "GET /w/{ws}/alerts/{rule_id}": (_api(A_READ, "403"), None),
    "PATCH /w/{ws}/alerts/{rule_id}": (_api(A_OWN, "403"), {"name": "renamed"}),
    "DELETE /w/{ws}/alerts/{rule_id}": (_api(A_OWN, "403"), None),
    "POST /w/{ws}/alerts/{rule_id}/mute": (_api(A_READ, "403"), {"muted": True}),
    "GET /w/{ws}/alerts/{rule_id}/deliveries": (_api(A_OWN, "403"), None),
    "POST /w/{ws}/submit": (_api(A_WRITE, "403"), lambda w: {"multipart": _submit(w)}),
    "POST /w/{ws}/runs/{run_id}/submit-child": (
        _api(A_WRITE, "404"),
        lambda w: {"multipart": _submit(w)},
    ),
    # Claiming and finishing are a worker's, whose tokens are not run-scoped.
    "POST /w/{ws}/runs/{run_id}/claim": (_api(A_WRITE, "403"), {"worker": "w1"}),
    "POST /w/{ws}/runs/{run_id}/finish": (_api(A_WRITE, "403"), {"status": "Completed"}),
    "GET /w/{ws}/compute-targets": (_api(A_READ, OK), None),
    "POST /w/{ws}/compute-targets": (_api(A_OWN, "403"), {"name": "tpu"}),
    "DELETE /w/{ws}/compute-targets/{target}": (_api(A_OWN, "403"), None),
    "POST /w/{ws}/workers": (_api(A_WRITE, "403"), {"name": "w1", "targets": ["gpu"]}),
}


def _operation(key: str) -> str:
    """ "GET /w/{ws}/x?name=1" -> "GET /w/{ws}/x" (the operation, without the query)."""
    return key.split("?", 1)[0].replace("{target}", "{name}")


@pytest.fixture
def world(db) -> World:
    return build_world()


def test_every_page_pattern_has_an_expectation():
    names = {page.name for page in matrix.pages()}
    assert names - PAGES.keys() == set(), "new URL patterns: add them to PAGES"
    assert PAGES.keys() - names == set(), "PAGES names patterns that are gone"


def test_every_api_operation_has_an_expectation():
    operations = set(matrix.api_operations())
    expected = {_operation(key) for key in API}
    assert operations - expected == set(), "new API operations: add them to API"
    assert expected - operations == set(), "API names operations that are gone"


def test_the_api_namespace_holds_only_ninjas_operations():
    """A plain Django view slipped under /api/ would bypass the API's matrix."""
    extra = {
        p.name
        for ns, p in matrix.url_patterns()
        if ns == "api:" and not getattr(p.callback, "__wrapped__", None)
    }
    assert extra <= {"not-found"}


def _page_kwargs(world: World) -> dict[str, str]:
    return {**world.url_kwargs(), "uidb64": "MQ", "token": "set-password"}


def _body(body: Body, world: World) -> dict[str, Any] | None:
    return body(world) if callable(body) else body


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matrix(world, name):
    (page,) = [p for p in matrix.pages() if p.name == name]
    url = page.url(_page_kwargs(world))
    baseline = matrix.fingerprint()
    owner = world.clients[OWNER]
    accepted = {m for m in matrix.METHODS if matrix.send(owner, m, url, baseline)[0] != "405"}
    assert accepted == PAGES[name].keys(), f"{url} accepts {sorted(accepted)}"
    problems = []
    for method, (needs, body) in PAGES[name].items():
        data = _body(body, world)
        for role in PAGE_ROLES:
            extra: dict[str, Any] = {"strict": data is not None}
            if data:
                extra["data"] = data
            problems += _page_case(world, url, method, role, needs[role], baseline, extra)
            if method == "GET":  # the htmx partial of the same URL
                problems += _page_case(
                    world,
                    url,
                    method,
                    role,
                    needs[role],
                    baseline,
                    {"headers": {"HX-Request": "true"}},
                )
    assert problems == []


def _page_case(world, url, method, role, expected, baseline, extra) -> list[str]:
    strict = extra.pop("strict", False)
    result, changed, status = matrix.send(world.clients[role], method, url, baseline, **extra)
    if strict and result == OK and status in (400, 422):
        result = f"ok but {status}: the body sent is wrong"
    problems = []
    if result != expected:
        problems.append(f"{method} {url} as {role}: {result}, expected {expected}")
    if changed:
        problems.append(f"{method} {url} as {role}: refused, yet rows changed")
    return problems


def _api_request(body: Body, world: World) -> dict[str, Any]:
    """The request's body arguments, made anew each time (an uploaded file is read once)."""
    data = _body(body, world)
    if data is None:
        return {}
    if "multipart" in data:
        return {"data": data["multipart"]}
    if "raw" in data:
        return {"data": data["raw"], "content_type": "application/octet-stream"}
    return {"data": json.dumps(data), "content_type": "application/json"}


@pytest.mark.parametrize("key", sorted(API))
def test_api_matrix(world, key):
    needs, body = API[key]
    method, path = key.split(" ", 1)
    kwargs = {**world.url_kwargs(), "target": world.target.name}
    url = "/api" + path.format(**kwargs)
    baseline = matrix.fingerprint()
    problems = []
    for role in API_ROLES:
        extra = _api_request(body, world)
        result, changed, status = matrix.send(world.api[role], method, url, baseline, **extra)
        # The matrix sends valid bodies: a 400 would hide whether access was granted.
        if result == OK and status in (400, 422):
            result = f"ok but {status}: the body sent is wrong"
        if result != needs[role]:
            problems.append(f"{method} {url} as {role}: {result}, expected {needs[role]}")
        if changed:
            problems.append(f"{method} {url} as {role}: refused, yet rows changed")
    assert problems == []


def test_the_fingerprint_sees_a_changed_row(world):
    before = matrix.fingerprint()
    world.run.tags.filter(key="quality").update(value="poor")
    assert matrix.fingerprint() != before


def _params(pattern) -> dict:
    return getattr(pattern.pattern, "converters", None) or pattern.pattern.regex.groupindex


def test_the_admin_is_for_staff_alone(world):
    """Every admin page sends members of any role (not staff) to the admin's login."""
    admin_urls = [
        reverse(f"admin:{name}")
        for ns, p in matrix.url_patterns()
        if ns == "admin:" and (name := p.name) and not _params(p)
    ]
    assert len(admin_urls) > 10
    login = reverse("admin:login")
    for role in PAGE_ROLES:
        for url in admin_urls:
            if url.startswith((login, reverse("admin:logout"))):
                continue
            response = world.clients[role].get(url)
            assert response.status_code == 302, (role, url)
            assert response["Location"].startswith(login), (role, url)
