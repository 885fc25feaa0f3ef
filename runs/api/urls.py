"""URLs under /api/: the operations, then a JSON 404 for every other path."""

from django.urls import URLPattern, re_path

from runs.api.api import api
from runs.api.errors import json_errors, not_found

app_name = "api"

_operations, _, _ = api.urls

urlpatterns = [
    URLPattern(p.pattern, json_errors(p.callback), p.default_args, p.name) for p in _operations
] + [re_path(r"^.*$", not_found, name="not-found")]
