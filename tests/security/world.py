"""One workspace with something of every kind, and a member of each role.

The authorisation matrix and the XSS suite walk every URL with it: each URL
parameter has a real object to point at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.test import Client

from runs import services
from runs.models import (
    ApiToken,
    ComputeTarget,
    Experiment,
    Invitation,
    Membership,
    Role,
    Run,
    RunFile,
    SavedView,
    Workspace,
)
from runs.notifications.models import AlertRule
from runs.services import SeriesIn
from runs.services import alerts as alert_services
from runs.services import saved_views as view_services
from tests.conftest import ApiClient
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

# The roles a request can come with. Pages know the first five; the API also
# takes a token limited to one run's tree (here a sibling of the run the URLs name).
ANONYMOUS, OUTSIDER, READER, CONTRIBUTOR, OWNER, SCOPED = (
    "anonymous",
    "outsider",
    "reader",
    "contributor",
    "owner",
    "scoped",
)
PAGE_ROLES = (ANONYMOUS, OUTSIDER, READER, CONTRIBUTOR, OWNER)
API_ROLES = (*PAGE_ROLES, SCOPED)


@dataclass
class World:
    workspace: Workspace
    experiment: Experiment
    run: Run
    child: Run
    sibling: Run
    output: RunFile
    log: RunFile
    view: SavedView
    rule: AlertRule
    invitation: Invitation
    target: ComputeTarget
    metric: str
    clients: dict[str, Client] = field(default_factory=dict)
    api: dict[str, ApiClient] = field(default_factory=dict)
    tokens: dict[str, ApiToken] = field(default_factory=dict)

    def url_kwargs(self) -> dict[str, str]:
        """A value for every URL parameter name the studio and the API use."""
        return {
            "workspace": self.workspace.slug,
            "ws": self.workspace.slug,
            "experiment": self.experiment.name,
            "run_id": self.run.pk,
            "view_id": str(self.view.pk),
            "rule_id": str(self.rule.pk),
            "file_id": str(self.log.pk),
            "path": self.output.path,
            "name": self.metric,
            "part": "run-overview",
            "invitation_id": str(self.invitation.pk),
        }


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def build_world(
    *,
    display_name: str = "resnet",
    description: str = "A **good** run",
    tag: tuple[str, str] = ("quality", "great"),
    prop: tuple[str, str] = ("author", "ann"),
    experiment: str = "mnist",
    metric: str = "loss",
    text_metric: tuple[str, str] = ("note", "looks fine"),
    file_name: str = "outputs/model.txt",
    log_text: str = "epoch 1\n",
    view_name: str = "Best runs",
    rule_name: str = "Failures",
    error_message: str = "",
) -> World:
    """The world, with each shown field set from the arguments (the XSS suite's hook)."""
    ws = WorkspaceFactory(slug="team")
    users = {role: UserFactory(username=role) for role in (READER, CONTRIBUTOR, OWNER)}
    for role, user in users.items():
        MembershipFactory(workspace=ws, user=user, role=role)
    outsider = UserFactory(username=OUTSIDER)
    elsewhere = WorkspaceFactory(slug="elsewhere")
    MembershipFactory(workspace=elsewhere, user=outsider, role=Role.OWNER)

    owner = users[OWNER]
    exp = services.experiment_get_or_create(workspace=ws, name=experiment)
    run = services.run_create(
        experiment=exp,
        user=owner,
        display_name=display_name,
        description=description,
        tags={tag[0]: tag[1], "key-only": None},
    )
    services.run_add_properties(run=run, properties={prop[0]: prop[1]})
    services.metric_log_batch(run=run, series=[SeriesIn(metric, [1.0, 0.5, 0.25])])
    services.metric_log_batch(run=run, series=[SeriesIn(text_metric[0], [text_metric[1]])])
    output = services.run_file_upload(
        run=run, path=file_name, content=ContentFile(b"weights", name="x")
    )
    log = services.run_file_append(run=run, path="logs/std_log.txt", data=log_text.encode())
    (child,) = services.run_create_children(parent=run, user=owner, count=1)
    sibling = services.run_create(experiment=exp, user=owner, display_name="sibling")
    if error_message:
        services.run_fail(run=child, message=error_message, error_code="UserError")

    owner_membership = Membership.objects.get(workspace=ws, user=owner)
    view = view_services.saved_view_create(
        actor=owner_membership,
        name=view_name,
        state={"filter": "status = 'Running'"},
        visibility=SavedView.Visibility.WORKSPACE,
    )
    rule = alert_services.alert_rule_create(
        actor=owner_membership,
        spec=alert_services.RuleSpec(
            name=rule_name, scope="workspace", statuses=["Failed"], emails=["ops@example.com"]
        ),
    )
    invitation = services.invitation_create(
        workspace=ws, invitee=outsider.username, role=Role.READER, invited_by=owner
    )
    target = services.compute_target_create(workspace=ws, name="gpu", executor="celery")

    world = World(
        workspace=ws,
        experiment=exp,
        run=run,
        child=child,
        sibling=sibling,
        output=output,
        log=log,
        view=view,
        rule=rule,
        invitation=invitation,
        target=target,
        metric=metric,
    )
    world.clients = {ANONYMOUS: Client(), OUTSIDER: _login(outsider)}
    world.clients |= {role: _login(user) for role, user in users.items()}
    api_users = {OUTSIDER: outsider, **users, SCOPED: owner}
    for role, user in api_users.items():
        scope = sibling if role == SCOPED else None
        token, secret = services.token_create(user=user, name=f"{role} token", run=scope)
        world.tokens[role] = token
        world.api[role] = ApiClient(secret, user)
    world.api[ANONYMOUS] = _anonymous_api()
    return world


def _anonymous_api() -> ApiClient:
    client = ApiClient("", None)
    client.defaults.pop("HTTP_AUTHORIZATION", None)
    return client
