"""selectors.rows: the instances of a statement written once are those the ORM makes
(tokens, memberships, sessions, the run page)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from runs import services
from runs.models import ApiToken, Membership, Role, Workspace
from runs.selectors.workspaces import membership_for
from runs.sessions import SessionStore
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_token_read_matches_the_orm_field_by_field():
    membership = MembershipFactory(role=Role.CONTRIBUTOR)
    token, secret = services.token_create(
        user=membership.user,
        name="sweeps",
        workspace=membership.workspace,
        expires=timezone.now() + timedelta(days=3),
    )
    ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())

    read = services.token_authenticate(secret)

    assert _fields(read) == _fields(ApiToken.objects.get(pk=token.pk))
    assert _fields(read.user) == _fields(type(read.user).objects.get(pk=membership.user_id))
    assert _fields(read.workspace) == _fields(Workspace.objects.get(pk=membership.workspace_id))
    member = read.user.token_membership
    assert _fields(member) == _fields(Membership.objects.get(pk=membership.pk))
    assert member.workspace is read.workspace
    assert member.user is read.user
    # Typed as the ORM types them: aware datetimes, booleans, not text or integers.
    assert read.expires.tzinfo is not None
    assert read.user.is_active is True
    assert not read._state.adding
    assert read._state.db == "default"


def test_token_without_membership_or_workspace():
    user = UserFactory()
    outsider_ws = WorkspaceFactory()
    scoped, scoped_secret = services.token_create(user=user, name="a", workspace=outsider_ws)
    legacy, legacy_secret = services.token_create(user=user, name="b", workspace=None)

    read = services.token_authenticate(scoped_secret)
    assert read.workspace == outsider_ws
    assert read.user.token_membership is None
    read = services.token_authenticate(legacy_secret)
    assert read.workspace is None
    assert read.user.token_membership is None


def test_inactive_user_or_unknown_secret_reads_nothing():
    membership = MembershipFactory()
    _, secret = services.token_create(
        user=membership.user, name="x", workspace=membership.workspace
    )
    assert services.token_authenticate(secret + "0") is None
    membership.user.is_active = False
    membership.user.save()
    assert services.token_authenticate(secret) is None


def test_membership_for_matches_the_orm():
    membership = MembershipFactory(role=Role.OWNER)
    other = WorkspaceFactory()

    found = membership_for(membership.user, membership.workspace.slug)

    assert _fields(found) == _fields(Membership.objects.get(pk=membership.pk))
    assert _fields(found.workspace) == _fields(Workspace.objects.get(pk=membership.workspace_id))
    assert found.user is membership.user
    assert membership_for(membership.user, other.slug) is None
    assert membership_for(membership.user, "no-such-workspace") is None


def test_session_read_as_django_reads_it():
    store = SessionStore()
    store["answer"] = 42
    store.create()

    assert SessionStore(store.session_key).load() == {"answer": 42}
    assert _fields(SessionStore(store.session_key)._get_session_from_db()) == _fields(
        Session.objects.get(pk=store.session_key)
    )
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert SessionStore("x" * 32).load() == {}


def test_run_detail_reads_match_the_orm():
    from runs.models import LatestMetric, Property, Run, RunEvent, RunFile, Tag
    from runs.selectors.run_detail import run_detail, run_events
    from tests.factories import RunFactory

    owner = UserFactory()
    parent = RunFactory(submitted_by=owner)
    run = RunFactory(experiment=parent.experiment, parent=parent, submitted_by=None)
    services.run_set_tags(run=run, tags={"b": "2", "a": None}, actor=owner)
    services.run_set_tags(run=run, tags={"b": "3"})
    services.run_add_properties(run=run, properties={"lr": "0.1", "batch": "32"})
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="loss", values=[0.5, float("nan")]),
            services.SeriesIn(name="phase", values=["warm-up"]),
        ],
    )
    RunFile.objects.create(run=run, path="logs/std.log", kind=RunFile.Kind.LOG, file="a/b.log")
    RunFile.objects.create(run=run, path="model.pt", kind=RunFile.Kind.OUTPUT, size=7, file="a/m")

    detail = run_detail(workspace=run.workspace, run_id=run.pk)

    assert _fields(detail.run) == _fields(Run.objects.get(pk=run.pk))
    assert _fields(detail.run.experiment) == _fields(parent.experiment)
    assert detail.run.submitted_by is None
    assert _fields(detail.run.parent) == _fields(Run.objects.get(pk=parent.pk))
    assert detail.run.workspace == run.workspace
    for read, orm in [
        (detail.tags, Tag.objects.filter(run=run).order_by("key")),
        (detail.properties, Property.objects.filter(run=run).order_by("key")),
        (detail.latest_metrics, LatestMetric.objects.filter(run=run).order_by("name")),
        (detail.log_files + detail.output_files, RunFile.objects.filter(run=run).order_by("kind")),
    ]:
        assert [_fields(x) for x in read] == [_fields(x) for x in orm]
    events = RunEvent.objects.filter(run=run).select_related("actor").order_by("-created", "-id")
    assert [_fields(e) for e in detail.events.events] == [_fields(e) for e in events]
    assert [e.actor and _fields(e.actor) for e in detail.events.events] == [
        e.actor and _fields(e.actor) for e in events
    ]
    assert {e.actor for e in detail.events.events} == {owner, None}
    assert run_events(run=run, limit=1).more is True


def test_run_detail_of_another_workspace_is_404():
    from django.http import Http404

    from runs.selectors.run_detail import run_detail
    from tests.factories import RunFactory

    run = RunFactory()
    with pytest.raises(Http404):
        run_detail(workspace=WorkspaceFactory(), run_id=run.pk)
