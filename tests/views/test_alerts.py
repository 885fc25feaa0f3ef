"""The Alerts pages: who sees, makes, changes, deletes and mutes which rules; bad input
gets a message; a saved view's 'Alert me' prefills the editor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from runs import services
from runs.models import AlertMute, AlertRule, Membership, Role, SavedView
from runs.services import saved_views as view_services
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory

NEW = reverse("runs:alert-create", args=["team"])
LIST = reverse("runs:alerts", args=["team"])


def url(name: str, rule: AlertRule) -> str:
    return reverse(f"runs:{name}", args=["team", rule.pk])


@pytest.fixture
def emails(reader_client, contributor_client, owner_client):
    for client in (reader_client, contributor_client, owner_client):
        client.user.email = f"{client.user.username}@example.com"
        client.user.save()


@pytest.fixture
def ws_rule(workspace, owner_client, emails):
    membership = Membership.objects.get(workspace=workspace, user=owner_client.user)
    spec = services.alerts.RuleSpec(name="ops", statuses=["Failed"], emails=["ops@example.com"])
    return services.alerts.alert_rule_create(actor=membership, spec=spec)


def test_owners_make_workspace_rules_from_the_page(owner_client, workspace, emails):
    ExperimentFactory(workspace=workspace, name="mnist")
    data = {
        "name": "mnist failures",
        "scope": "workspace",
        "experiment": "mnist",
        "filter": "tags.team='vision'",
        "statuses": ["Failed", "Canceled"],
        "running_hours": "6",
        "members": ["reader"],
        "emails": "ops@example.com, oncall@example.com",
        "webhook": "https://hooks.example.com/services/x",
    }
    response = owner_client.post(NEW, data)
    rule = AlertRule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("alert-detail", rule)
    assert rule.scope == "workspace"
    assert rule.experiment.name == "mnist"
    assert rule.filter == "tags.team = 'vision'"
    assert rule.statuses == ["Failed", "Canceled"]
    assert rule.running_hours == 6
    assert [u.username for u in rule.members.all()] == ["reader"]
    assert rule.emails == ["ops@example.com", "oncall@example.com"]
    page = owner_client.get(LIST).content.decode()
    assert "mnist failures" in page
    assert "webhook hooks.example.com" in page


def test_a_reader_makes_a_personal_rule(reader_client, workspace, emails):
    response = reader_client.post(NEW, {"statuses": ["Completed"], "mine_only": "on"})
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.scope, rule.owner, rule.mine_only) == ("personal", reader_client.user, True)
    assert rule.name == "Completed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"statuses": []}, "a rule needs an event"),
        ({"statuses": ["Exploded"]}, "Exploded is not a status a rule reports"),
        ({"statuses": ["Failed"], "filter": "status = "}, "filter: position"),
        ({"statuses": ["Failed"], "experiment": "nope"}, "Select a valid choice"),
        ({"statuses": ["Failed"], "run_id": "no-such-run"}, "there is no run"),
        ({"statuses": ["Failed"], "running_hours": "0"}, "at least 1"),
        ({"statuses": ["Failed"], "running_hours": "x"}, "a whole number"),
        ({"statuses": ["Failed"], "silent_minutes": "99999999"}, "at most"),
        ({"statuses": ["Failed"], "emails": "not-an-address"}, "is not an email address"),
        ({"statuses": ["Failed"], "webhook": "ftp://x.example.com"}, "is not an http"),
        ({"statuses": ["Failed"], "members": ["stranger"]}, "not a member of this workspace"),
        ({"statuses": ["Failed"]}, "needs someone to tell"),
        ({"statuses": ["Failed"], "scope": "galaxy", "emails": "a@b.co"}, "Select a valid"),
        ({"statuses": ["Failed"], "name": "x" * 101, "emails": "a@b.co"}, "at most 100"),
    ],
)
def test_bad_rules_get_a_message_not_a_500(owner_client, workspace, emails, data, message):
    response = owner_client.post(NEW, {"scope": "workspace", **data})
    assert response.status_code == 422
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"scope": "workspace", "emails": "ops@example.com"},
        {"emails": "someone-else@example.com"},
        {"webhook": "https://hooks.example.com/x"},
        {"members": ["owner"]},
    ],
)
def test_readers_cannot_make_workspace_rules_or_email_others(
    reader_client, workspace, emails, data
):
    response = reader_client.post(NEW, {"statuses": ["Failed"], **data})
    assert response.status_code in (403, 422)
    assert not AlertRule.objects.exists()


def test_a_personal_rule_needs_an_address(reader_client, workspace):
    reader_client.user.email = ""
    reader_client.user.save()
    response = reader_client.post(NEW, {"statuses": ["Failed"]})
    assert response.status_code == 422
    assert "no email address" in response.content.decode()


EDIT = {"reader": 403, "contributor": 403, "owner": 200, "outsider": 404}


@pytest.mark.parametrize("role", list(EDIT))
def test_only_owners_edit_or_delete_workspace_rules(request, ws_rule, role):
    client = request.getfixturevalue(f"{role}_client")
    assert client.get(url("alert-edit", ws_rule)).status_code == EDIT[role]
    response = client.post(url("alert-edit", ws_rule), {"statuses": ["Completed"]})
    assert response.status_code in ({200: 422}.get(EDIT[role], EDIT[role]),)
    ws_rule.refresh_from_db()
    assert ws_rule.statuses == ["Failed"]
    deleted = client.post(url("alert-delete", ws_rule))
    assert deleted.status_code == {200: 302}.get(EDIT[role], EDIT[role])
    assert AlertRule.objects.exists() is (EDIT[role] != 200)


def test_owners_edit_a_rule(owner_client, ws_rule):
    response = owner_client.post(
        url("alert-edit", ws_rule),
        {"scope": "workspace", "name": "ops 2", "statuses": ["Completed"], "emails": "a@b.co"},
    )
    assert response.status_code == 302
    ws_rule.refresh_from_db()
    assert (ws_rule.name, ws_rule.statuses, ws_rule.emails) == ("ops 2", ["Completed"], ["a@b.co"])


def test_members_see_workspace_rules_but_not_their_addresses(reader_client, ws_rule):
    page = reader_client.get(LIST).content.decode()
    assert "ops" in page
    assert "ops@example.com" not in page
    assert "1 other address" in page
    detail = reader_client.get(url("alert-detail", ws_rule)).content.decode()
    assert "Deliveries" not in detail
    assert "ops@example.com" not in detail


def test_personal_rules_are_their_owners_alone(reader_client, owner_client, workspace, emails):
    reader_client.post(NEW, {"name": "quiet-reader-rule", "statuses": ["Failed"]})
    rule = AlertRule.objects.get(name="quiet-reader-rule")
    assert "quiet-reader-rule" not in owner_client.get(LIST).content.decode()
    assert owner_client.get(url("alert-detail", rule)).status_code == 404
    assert owner_client.post(url("alert-delete", rule)).status_code == 404
    assert reader_client.post(url("alert-delete", rule)).status_code == 302
    assert not AlertRule.objects.exists()


def test_a_member_mutes_and_unmutes_a_workspace_rule(reader_client, ws_rule):
    assert reader_client.post(url("alert-mute", ws_rule), {"muted": "1"}).status_code == 302
    assert AlertMute.objects.filter(rule=ws_rule, user=reader_client.user).exists()
    assert "Unmute" in reader_client.get(LIST).content.decode()
    assert reader_client.post(url("alert-mute", ws_rule), {"muted": "0"}).status_code == 302
    assert not AlertMute.objects.exists()


def test_non_members_get_404_everywhere(outsider_client, ws_rule):
    for path in (
        LIST,
        NEW,
        url("alert-detail", ws_rule),
        reverse("runs:status-events", args=["team"]),
        reverse("runs:alert-outbox", args=["team"]),
    ):
        assert outsider_client.get(path).status_code == 404, path
    assert outsider_client.post(url("alert-mute", ws_rule)).status_code == 404


def test_the_rule_page_shows_its_deliveries(owner_client, ws_rule, workspace):
    run = RunFactory(experiment=ExperimentFactory(workspace=workspace))
    services.run_fail(run=run)
    from runs.models import Notification

    Notification.objects.update(state="failed", attempts=3, last_error="550 mailbox unavailable")
    page = owner_client.get(url("alert-detail", ws_rule)).content.decode()
    assert "550 mailbox unavailable" in page
    assert "state-failed" in page


def test_alert_me_on_a_saved_view_prefills_the_editor(reader_client, workspace, emails):
    membership = Membership.objects.get(workspace=workspace, user=reader_client.user)
    ExperimentFactory(workspace=workspace, name="mnist")
    view = view_services.saved_view_create(
        actor=membership,
        name="vision fails",
        state={
            "experiment": ["mnist"],
            "tag": ["team:vision"],
            "status": ["Failed"],
            "filter": "metrics.loss > 1",
            "q": "resnet",
        },
    )
    page = reader_client.get(reverse("runs:saved-view", args=["team", view.pk]))
    alert_url = reverse("runs:alert-from-view", args=["team", view.pk])
    assert alert_url in page.content.decode()
    editor = reader_client.get(alert_url).content.decode()
    assert "metrics.loss &gt; 1 and tags.team = &#x27;vision&#x27;" in editor
    assert 'value="Runs of vision fails"' in editor
    assert '<option value="mnist" selected>' in editor
    assert "status condition (Failed) is left out" in editor
    assert "search text" in editor


def test_alert_me_on_someone_elses_private_view_is_404(owner_client, reader_client, workspace):
    membership = Membership.objects.get(workspace=workspace, user=reader_client.user)
    view = view_services.saved_view_create(actor=membership, name="private", state={})
    assert view.visibility == SavedView.Visibility.PRIVATE
    response = owner_client.get(reverse("runs:alert-from-view", args=["team", view.pk]))
    assert response.status_code == 404


def test_the_status_changes_page_filters(reader_client, workspace):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    other = ExperimentFactory(workspace=workspace, name="other")
    services.run_fail(run=RunFactory(experiment=exp, display_name="fails"))
    services.run_complete(run=RunFactory(experiment=other, display_name="finishes"))
    page_url = reverse("runs:status-events", args=["team"])
    everything = reader_client.get(page_url).content.decode()
    assert "fails" in everything
    assert "finishes" in everything
    failed = reader_client.get(page_url + "?status=Failed&status=Nonsense").content.decode()
    assert "fails" in failed
    assert "finishes" not in failed
    by_exp = reader_client.get(page_url + "?experiment=other").content.decode()
    assert "finishes" in by_exp
    assert ">fails<" not in by_exp
    assert reader_client.get(page_url + "?page=zz").status_code == 200


def test_the_status_changes_page_reads_statuses_as_words_and_pages_keep_filters(
    reader_client, workspace
):
    exp = ExperimentFactory(workspace=workspace, name="mnist")
    for _ in range(51):
        services.run_cancel(run=RunFactory(experiment=exp, status=Status.NOT_STARTED))
    page_url = reverse("runs:status-events", args=["team"])
    html = reader_client.get(page_url + "?status=Canceled&experiment=mnist").content.decode()
    assert ">Not Started<" in html
    assert ">NotStarted<" not in html
    assert 'href="?status=Canceled&amp;experiment=mnist&amp;page=2"' in html


def test_the_header_links_every_workspace_page_to_settings(reader_client, workspace):
    settings_url = reverse("runs:settings", args=["team"])
    for path in (
        reverse("runs:workspace-home", args=["team"]),
        reverse("runs:run-list", args=["team"]),
        reverse("runs:saved-views", args=["team"]),
        LIST,
    ):
        assert f'href="{settings_url}"' in reader_client.get(path).content.decode(), path
    response = reader_client.get(settings_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:members", args=["team"])


def test_rule_list_queries_do_not_grow(
    owner_client, workspace, emails, django_assert_max_num_queries
):
    membership = Membership.objects.get(workspace=workspace, user=owner_client.user)
    spec = services.alerts.RuleSpec(statuses=["Failed"], members=["reader"], emails=["a@b.co"])
    services.alerts.alert_rule_create(actor=membership, spec=spec)
    owner_client.get(LIST)
    with django_assert_max_num_queries(8) as first:
        owner_client.get(LIST)
    for _ in range(10):
        services.alerts.alert_rule_create(actor=membership, spec=spec)
    with django_assert_max_num_queries(len(first.captured_queries)):
        owner_client.get(LIST)


def test_owners_only_see_the_role_gated_controls(reader_client, owner_client, ws_rule):
    assert Role.OWNER
    assert "Edit" not in reader_client.get(LIST).content.decode().split("alert-rules")[1]
    assert url("alert-edit", ws_rule) in owner_client.get(LIST).content.decode()
