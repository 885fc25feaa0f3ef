"""The Django admin: every model's pages open, and edits keep the studio's derived data."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.urls import reverse

from runs import models
from runs.models import RunEvent
from tests.factories import ExperimentFactory, RunFactory, TagFactory, UserFactory

MODELS = [
    models.Workspace,
    models.Membership,
    models.Experiment,
    models.Run,
    models.Tag,
    models.Property,
    models.MetricChunk,
    models.LatestMetric,
    models.MetricBatch,
    models.RunFile,
    models.ApiToken,
    models.Invitation,
    models.AlertRule,
    models.Notification,
]


def _url(model, action: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=args)


def _data(response) -> dict:
    """The change form's fields (and its inlines') as the browser would post them."""
    data = {}

    def add(form, prefix=None):
        for name, field in form.fields.items():
            key = form.add_prefix(name) if prefix is None else f"{prefix}-{name}"
            value = form[name].value()
            if isinstance(field.widget, AdminSplitDateTime):
                if isinstance(value, datetime.datetime):
                    data[f"{key}_0"], data[f"{key}_1"] = value.date(), value.time()
                continue
            if value is None or value is False:
                continue
            data[key] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form, formset.prefix)
        for form in formset.forms:
            add(form)
    return data


def _save(client, model, obj, **changes):
    url = _url(model, "change", obj.pk)
    data = {**_data(client.get(url)), **changes}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


@pytest.fixture
def admin(client, db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_changelist(admin, model):
    assert admin.get(_url(model, "changelist")).status_code == 200


def test_a_run_edited_in_the_admin_goes_through_the_service(admin, workspace):
    run = RunFactory(experiment=ExperimentFactory(workspace=workspace, name="vision"))
    _save(admin, models.Run, run, display_name="Renamed sweep", description="**bold** words")
    run.refresh_from_db()
    assert run.display_name == "Renamed sweep"
    assert "<strong>bold</strong>" in run.description_html
    assert "renamed sweep" in run.search_text
    assert "bold words" in run.search_text.replace("*", "")
    changes = RunEvent.objects.filter(run=run).values_list("field", "actor__username")
    assert sorted(changes) == [("description", "root"), ("display_name", "root")]


def test_renames_in_the_admin_reach_the_free_text(admin, workspace):
    submitter = UserFactory(username="alice")
    exp = ExperimentFactory(workspace=workspace, name="vision")
    run = RunFactory(experiment=exp, submitted_by=submitter)
    tag = TagFactory(run=run, key="quality", value="good")

    _save(admin, models.Experiment, exp, name="speech")
    _save(admin, get_user_model(), submitter, username="bob")
    _save(admin, models.Tag, tag, value="great")
    run.refresh_from_db()
    parts = run.search_text.split("\n")
    assert "speech" in parts
    assert "vision" not in parts  # (the run id still starts with it)
    assert "bob" in parts
    assert "alice" not in parts
    assert parts[-2:] == ["quality", "great"]

    admin.post(_url(models.Tag, "delete", tag.pk), {"post": "yes"})
    run.refresh_from_db()
    assert "quality" not in run.search_text.split("\n")


def test_the_admin_revokes_tokens(admin, workspace):
    from runs import services

    token, secret = services.token_create(user=admin.user, name="laptop", workspace=workspace)
    url = _url(models.ApiToken, "changelist")
    response = admin.post(url, {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert admin.get(url).status_code == 200
