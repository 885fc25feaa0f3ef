"""The NinjaAPI: token auth on every operation, one error shape, one router per resource."""

from __future__ import annotations

from ninja import NinjaAPI

from runs.api import alerts, errors, executions, files, metrics, runs, saved_views, workspaces
from runs.api.auth import BearerToken, docs_access
from runs.api.parser import FastJsonParser

api = NinjaAPI(
    title="Run History Studio API",
    version="1",
    description=(
        "Run history for machine learning: workspaces, experiments, runs, metrics and files. "
        "Every request carries `Authorization: Bearer <token>`; every error is "
        '`{"error": {"code", "message"}}`.'
    ),
    # A bearer token, unlike a cookie, is never sent by a third-party page: no CSRF check.
    auth=BearerToken(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    # Signed-in people only, unless STUDIO_API_DOCS_LOGIN is off (docs/security.md).
    docs_decorator=docs_access,
    parser=FastJsonParser(),
)
errors.install(api)
api.add_router("", workspaces.router)
api.add_router("", runs.router)
api.add_router("", metrics.router)
api.add_router("", files.router)
api.add_router("", saved_views.router)
api.add_router("", alerts.router)
api.add_router("", executions.router)
