"""A workspace whose every shown field holds an XSS payload, beside a harmless twin.

For each payload: a run whose display name, tag key and value, property key and
value, metric name, text metric value, file name, log text and error message are
the payload (each written through its service; what a service refuses is
counted, not stored), a run whose description is the payload, a saved view and
an alert rule named after it (the rule watches the first run, so its email names
both). Experiment names are tried too (the studio allows only [A-Za-z0-9._-]).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import SuspiciousOperation
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction

from runs import services
from runs.exceptions import StudioError
from runs.models import Membership, Run, SavedView, Workspace
from runs.notifications.models import AlertRule
from runs.services import SeriesIn
from runs.services import alerts as alert_services
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

HARMLESS = "harmless words"
FIELDS = (
    "experiment",
    "display name",
    "tag key",
    "tag value",
    "property key",
    "property value",
    "metric name",
    "text metric value",
    "file name",
    "log text",
    "error message",
    "description",
    "view name",
    "alert rule name",
)


@dataclass
class Planted:
    payload: str
    run: Run  # every field but the description
    described: Run  # the description
    view: SavedView | None = None
    rule: AlertRule | None = None


@dataclass
class XssWorld:
    workspace: Workspace
    owner: object
    planted: list[Planted]
    harmless: Planted
    bare: Planted | None = None  # runs with nothing set: what a refused field leaves
    stored: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)


def _try(world: XssWorld, name: str, write: Callable[[], object]) -> object | None:
    """Write one field; a refusal is counted: the service's, the storage's (a file name
    with nothing usable, '">'), the database's (NUL on PostgreSQL)."""
    try:
        with transaction.atomic():
            result = write()
    except (StudioError, SuspiciousOperation, DatabaseError, ValueError):
        world.refused[name] += 1
        return None
    world.stored[name] += 1
    return result


def _plant(world: XssWorld, actor: Membership, text: str, default_experiment) -> Planted:
    owner = actor.user
    experiment = _try(
        world,
        "experiment",
        lambda: services.experiment_get_or_create(workspace=world.workspace, name=text),
    )
    exp = experiment or default_experiment
    run = services.run_create(experiment=exp, user=owner, display_name="x")
    _try(world, "display name", lambda: services.run_update(run=run, display_name=text))
    _try(world, "tag key", lambda: services.run_set_tags(run=run, tags={text: "v"}))
    _try(world, "tag value", lambda: services.run_set_tags(run=run, tags={"k": text}))
    _try(
        world, "property key", lambda: services.run_add_properties(run=run, properties={text: "v"})
    )
    _try(
        world,
        "property value",
        lambda: services.run_add_properties(run=run, properties={"p": text}),
    )
    _try(
        world,
        "metric name",
        lambda: services.metric_log_batch(run=run, series=[SeriesIn(text, [1.0, 2.0])]),
    )
    _try(
        world,
        "text metric value",
        lambda: services.metric_log_batch(run=run, series=[SeriesIn("note", [text])]),
    )
    _try(
        world,
        "file name",
        lambda: services.run_file_upload(run=run, path=text, content=ContentFile(b"x", name="x")),
    )
    _try(
        world,
        "log text",
        lambda: services.run_file_append(run=run, path="logs/std_log.txt", data=text.encode()),
    )
    described = services.run_create(experiment=exp, user=owner, display_name="described")
    _try(world, "description", lambda: services.run_update(run=described, description=text))
    planted = Planted(text, run, described)
    planted.view = _try(
        world,
        "view name",
        lambda: view_services.saved_view_create(
            actor=actor,
            name=text,
            state={"q": text[:100]},
            visibility=SavedView.Visibility.WORKSPACE,
        ),
    )
    planted.rule = _try(
        world,
        "alert rule name",
        lambda: alert_services.alert_rule_create(
            actor=actor,
            spec=alert_services.RuleSpec(
                name=text,
                scope="workspace",
                run_id=run.pk,
                statuses=[Status.FAILED],
                emails=["ops@example.com"],
            ),
        ),
    )
    # Last: the failure writes the rule's notification.
    _try(world, "error message", lambda: services.run_fail(run=run, message=text))
    return planted


def build_xss_world(payloads: list[str]) -> XssWorld:
    ws = WorkspaceFactory(slug="xss")
    owner = UserFactory(username="xss-owner")
    actor = MembershipFactory(workspace=ws, user=owner, role="owner")
    default_experiment = services.experiment_get_or_create(workspace=ws, name="xss")
    world = XssWorld(ws, owner, [], None)  # type: ignore[arg-type]
    world.harmless = _plant(world, actor, HARMLESS, default_experiment)
    # Still running (a refused error message leaves a planted run so): its live log too.
    bare = services.run_create(experiment=default_experiment, user=owner)
    services.run_file_append(run=bare, path="logs/std_log.txt", data=b"running\n")
    world.bare = Planted("", bare, bare)
    world.stored.clear()
    world.refused.clear()
    world.planted = [_plant(world, actor, text, default_experiment) for text in payloads]
    return world
