"""Schemathesis against /api/openapi.json: every operation, every check.

Valid and invalid requests are generated from the schema (derandomised, a fixed
number per operation; `FUZZ_EXAMPLES` raises it) and sent in-process to the WSGI
application as an owner, with the URL's workspace, run, view, rule and compute
target pointing at real ones. Every check runs, not only "no 5xx": answers that
match their documented status codes, content types, headers and schemas; valid
requests accepted and invalid ones refused (a client generated from the schema
meets no surprise 400); authentication that is not ignored. Each request's
writes are rolled back, so every case meets the same workspace.
"""

from __future__ import annotations

import hashlib
import os
import re

import pytest
import schemathesis
from django.db import transaction
from django.http import HttpResponseBase
from django.test.client import ClientHandler
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from runs import services
from runs.api.api import api
from runs.models import ApiToken, Role, SavedView, SavedViewVersion
from runs.services import alerts as alert_services
from runs.services import saved_views as view_services
from tests.factories import MembershipFactory, RunFactory, UserFactory, WorkspaceFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or 6
RUN_ID = "mnist_1700000000_0000beef"
VIEW_ID = 900_001
RULE_ID = 900_001
# The owner's token: fixed, so the configuration sends it (a negative case may drop it).
SECRET = "rhs_fuzz-owner-token-for-tests-only"

CONFIG = SchemathesisConfig.from_dict(
    {
        "parameters": {
            "path.ws": "team",
            "path.run_id": RUN_ID,
            "path.view_id": VIEW_ID,
            "path.rule_id": RULE_ID,
            "path.name": "gpu",
        },
        "headers": {"Authorization": f"Bearer {SECRET}"},
        # Unknown query parameters are ignored (documented), not refused.
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            # No example database: each run the same cases, as on a fresh clone.
            "database": "none",
            "allow-extra-parameters": False,
            # A NUL (or an unpaired surrogate) anywhere in a request is refused before any
            # lookup, whatever the field (tests/api/test_control_characters.py): a rule of
            # the whole API, stated in docs/api.md rather than on every string.
            "allow-x00": False,
        },
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


def application(environ: dict, start_response) -> HttpResponseBase:
    """The studio as a WSGI application that, like Django's test client, keeps the test's
    database connection (and its transaction) open across requests."""
    response = ClientHandler(enforce_csrf_checks=True)(environ)
    headers = [
        *response.items(),
        *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
    ]
    start_response(f"{response.status_code} {response.reason_phrase}", headers)
    return response


# The document /api/openapi.json serves (to signed-in users and tokens), taken from the
# API itself: no database exists yet when tests are collected.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)
schema.app = application


@pytest.fixture
def owner_token(db) -> str:
    """A workspace with one of everything the URLs name, and its owner's token."""
    ws = WorkspaceFactory(slug="team")
    owner = UserFactory(username="owner")
    actor = MembershipFactory(workspace=ws, user=owner, role=Role.OWNER)
    exp = services.experiment_get_or_create(workspace=ws, name="mnist")
    run = RunFactory(experiment=exp, id=RUN_ID, submitted_by=owner)
    services.run_set_tags(run=run, tags={"quality": "great"})
    services.metric_log_batch(run=run, series=[services.SeriesIn("loss", [1.0, 0.5])])
    services.run_file_append(run=run, path="logs/std_log.txt", data=b"epoch 1\n")
    # Fixed ids, so the schemathesis configuration can name them.
    view = view_services.saved_view_create(
        actor=actor, name="best", state={}, visibility="workspace"
    )
    SavedView.objects.filter(pk=view.pk).update(id=VIEW_ID)
    SavedViewVersion.objects.filter(view_id=view.pk).update(view_id=VIEW_ID)
    rule = alert_services.alert_rule_create(
        actor=actor,
        spec=alert_services.RuleSpec(scope="workspace", statuses=["Failed"], emails=["a@b.co"]),
    )
    type(rule).objects.filter(pk=rule.pk).update(id=RULE_ID)
    services.compute_target_create(workspace=ws, name="gpu", executor="celery")
    token, _ = services.token_create(user=owner, name="fuzz")
    ApiToken.objects.filter(pk=token.pk).update(
        prefix=SECRET[:12], token_hash=hashlib.sha256(SECRET.encode()).hexdigest()
    )
    return SECRET


# Rules a JSON schema cannot state: one field against another, text that must parse,
# names that must exist, a snapshot that must be a .tar.gz. A schema-valid request
# refused with one of these messages is excused from "valid data is accepted" (every
# other check still runs); docs/api.md states each rule.
CROSS_FIELD = {
    "POST /api/w/{ws}/runs/{run_id}/children": r"display names given for|count is \d+ but|"
    r"needs a tagKey",
    "GET /api/w/{ws}/runs/{run_id}/metrics/series": r"startStep -?\d+ is after endStep",
    "GET /api/w/{ws}/metrics/series": r"startStep -?\d+ is after endStep|runs: |not found",
    # An imported run's times against each other and its status.
    "POST /api/w/{ws}/runs": r"endTimeUtc|startTimeUtc",
    "GET /api/w/{ws}/runs": r"^position \d+:|filter|cannot sort by",
    "POST /api/w/{ws}/views": r"a view needs a name|a view's name|run list parameter|state|chart",
    "PATCH /api/w/{ws}/views/{view_id}": r"a view needs a name|a view's name|run list "
    r"parameter|state|chart",
    "POST /api/w/{ws}/alerts": r"a rule needs|webhook|URL|e-?mail|member|experiment|filter|run",
    "PATCH /api/w/{ws}/alerts/{rule_id}": r"a rule needs|webhook|URL|e-?mail|member|experiment|"
    r"filter|run",
    "POST /api/w/{ws}/submit": r"snapshot|compute target|script",
    "POST /api/w/{ws}/runs/{run_id}/submit-child": r"snapshot|compute target|script|"
    r"parent's experiment",
    # Not a rule: the WSGI test client drops an empty file's part from the request.
    "POST /api/w/{ws}/runs/{run_id}/files": r"^file: required",
    "POST /api/w/{ws}/runs/{run_id}/metrics": r"\d+ (steps|times) for \d+ values|one kind",
    "POST /api/w/{ws}/metrics": r"\d+ (steps|times) for \d+ values|one kind",
}


def _excused(case, response) -> bool:
    pattern = CROSS_FIELD.get(f"{case.method.upper()} {case.path}")
    if pattern is None or response.status_code != 400:
        return False
    return re.search(pattern, response.json()["error"]["message"]) is not None


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None, database=None)
def test_the_api_answers_as_its_schema_says(case, owner_token):
    with transaction.atomic():
        response = case.call()
        excluded = [positive_data_acceptance] if _excused(case, response) else []
        # Multipart fields are text on the wire: a "number" or "object" there is text too.
        if case.media_type == "multipart/form-data":
            excluded.append(negative_data_rejection)
        case.validate_response(response, excluded_checks=excluded or None)
        transaction.set_rollback(True)
