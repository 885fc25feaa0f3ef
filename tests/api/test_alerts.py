"""The status-change feed and alert rules over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs import services, status
from runs.models import AlertRule, Notification, RunEvent
from runs.status import Status
from tests.api.helpers import assert_error
from tests.factories import ExperimentFactory, RunFactory

EVENTS = "/api/w/team/events"
ALERTS = "/api/w/team/alerts"


# --- the feed ------------------------------------------------------------------------------


def test_the_feed_lists_status_changes_newest_first(reader_api, experiment):
    run = RunFactory(experiment=experiment, display_name="baseline", status=Status.QUEUED)
    status.transition(run, Status.RUNNING)
    services.run_fail(run=run, actor=reader_api.user, message="x")
    body = reader_api.get(EVENTS).json()
    assert [(e["oldStatus"], e["status"]) for e in body["events"]] == [
        ("Running", "Failed"),
        ("Queued", "Running"),
    ]
    first = body["events"][0]
    assert first["runId"] == run.pk
    assert first["experiment"] == "mnist"
    assert first["displayName"] == "baseline"
    assert first["actor"] == "api-reader"
    assert first["url"].endswith(f"/w/team/runs/{run.pk}/")
    assert first["timeUtc"].endswith("Z")
    assert body["hasMore"] is False
    assert body["nextBefore"] is None


def test_the_feed_filters_by_experiment_status_run_and_time(reader_api, experiment, workspace):
    other = ExperimentFactory(workspace=workspace, name="other")
    sweep = RunFactory(experiment=experiment)
    child = RunFactory(experiment=experiment, parent=sweep)
    lone = RunFactory(experiment=other)
    services.run_fail(run=child)
    services.run_complete(run=lone)
    services.run_complete(run=sweep)
    RunEvent.objects.filter(run=lone).update(created=timezone.now() - timedelta(days=2))

    def ids(query: str) -> list[str]:
        body = reader_api.get(EVENTS + query).json()
        assert "events" in body, body
        return [e["runId"] for e in body["events"]]

    assert ids("?experiment=other") == [lone.pk]
    assert ids("?status=Failed") == [child.pk]
    assert sorted(ids("?status=Completed&status=Failed")) == sorted([lone.pk, sweep.pk, child.pk])
    assert sorted(ids(f"?run={sweep.pk}")) == sorted([sweep.pk, child.pk])
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert lone.pk not in ids(f"?since={since}")


def test_the_feed_pages_on_with_before(reader_api, experiment):
    runs = [RunFactory(experiment=experiment) for _ in range(5)]
    for run in runs:
        services.run_complete(run=run)
    first = reader_api.get(EVENTS + "?perPage=2").json()
    assert first["hasMore"] is True
    seen = [e["id"] for e in first["events"]]
    cursor = first["nextBefore"]
    services.run_complete(run=RunFactory(experiment=experiment))  # a newer change meanwhile
    while cursor:
        page = reader_api.get(f"{EVENTS}?perPage=2&before={cursor}").json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["nextBefore"]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("?status=Exploded", "query.status.0"),
        ("?perPage=0", "query.perPage"),
        ("?perPage=501", "query.perPage"),
        ("?before=-1", "query.before"),
        ("?before=x", "query.before"),
        ("?since=yesterday", "query.since"),
    ],
)
def test_bad_feed_queries_get_400(reader_api, workspace, query, fragment):
    assert_error(reader_api.get(EVENTS + query), 400, "BadRequest", fragment)


def test_the_feed_of_an_unknown_run_is_404(reader_api, workspace):
    assert_error(reader_api.get(EVENTS + "?run=nope"), 404, "NotFound")


def test_outsiders_and_run_scoped_tokens_get_no_feed(outsider_api, scoped_api):
    assert_error(outsider_api.get(EVENTS), 404, "NotFound")
    assert_error(scoped_api.get(EVENTS), 403, "Forbidden")
    assert_error(scoped_api.get(ALERTS), 403, "Forbidden")


# --- rules ---------------------------------------------------------------------------------


def test_an_owner_creates_lists_changes_and_deletes_a_rule(owner_api, experiment):
    created = owner_api.post_json(
        ALERTS,
        {
            "experiment": "mnist",
            "statuses": ["Failed", "canceled"],
            "emails": ["ops@example.com"],
            "webhook": "https://hooks.example.com/x",
            "filter": "tags.team='vision'",
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["scope"] == "workspace"
    assert rule["name"] == "Failed, Canceled in mnist"
    assert rule["statuses"] == ["Failed", "Canceled"]
    assert rule["filter"] == "tags.team = 'vision'"
    assert rule["emails"] == ["ops@example.com"]
    assert rule["canManage"] is True
    assert rule["deliveries"] == {"sent": 0, "pending": 0, "failed": 0}
    assert rule["url"].endswith(f"/w/team/settings/alerts/{rule['id']}/")

    listed = owner_api.get(ALERTS).json()["alerts"]
    assert [r["id"] for r in listed] == [rule["id"]]
    changed = owner_api.patch_json(f"{ALERTS}/{rule['id']}", {"statuses": ["Completed"]})
    assert changed.status_code == 200
    assert changed.json()["statuses"] == ["Completed"]
    assert changed.json()["emails"] == ["ops@example.com"]  # untouched
    cleared = owner_api.patch_json(f"{ALERTS}/{rule['id']}", {"experiment": None})
    assert cleared.json()["experiment"] is None
    assert owner_api.delete(f"{ALERTS}/{rule['id']}").status_code == 204
    assert not AlertRule.objects.exists()


def test_a_reader_makes_personal_rules_only(reader_api, owner_api, workspace):
    mine = reader_api.post_json(ALERTS, {"statuses": ["Completed"], "submittedByMe": True})
    assert mine.status_code == 201
    assert mine.json()["scope"] == "personal"
    own_address = reader_api.post_json(
        ALERTS, {"statuses": ["Failed"], "emails": [reader_api.user.email]}
    )
    assert own_address.status_code == 201
    assert_error(
        reader_api.post_json(ALERTS, {"statuses": ["Failed"], "emails": ["boss@example.com"]}),
        403,
        "Forbidden",
        "personal rule emails only you",
    )
    assert_error(
        reader_api.post_json(ALERTS, {"statuses": ["Failed"], "scope": "workspace"}),
        403,
        "Forbidden",
        "workspace rules are for owners",
    )
    # The owner sees none of the reader's personal rules.
    assert owner_api.get(ALERTS).json()["alerts"] == []
    assert_error(owner_api.get(f"{ALERTS}/{mine.json()['id']}"), 404, "NotFound")


def test_a_reader_cannot_change_a_workspace_rule_but_mutes_it(owner_api, reader_api, workspace):
    rule = owner_api.post_json(ALERTS, {"statuses": ["Failed"], "allMembers": True}).json()
    path = f"{ALERTS}/{rule['id']}"
    seen = reader_api.get(path).json()
    assert seen["canManage"] is False
    assert seen["emails"] is None
    assert_error(reader_api.patch_json(path, {"name": "x"}), 403, "Forbidden", "only owners")
    assert_error(reader_api.delete(path), 403, "Forbidden")
    assert_error(reader_api.get(path + "/deliveries"), 403, "Forbidden")
    assert reader_api.post_json(path + "/mute", {"muted": True}).json()["muted"] is True
    assert reader_api.post_json(path + "/mute", {"muted": False}).json()["muted"] is False


def test_deliveries_show_sent_pending_and_failed(owner_api, experiment):
    rule = owner_api.post_json(ALERTS, {"statuses": ["Failed"], "emails": ["a@b.co"]}).json()
    for _ in range(3):
        services.run_fail(run=RunFactory(experiment=experiment))
    rows = list(Notification.objects.order_by("id"))
    Notification.objects.filter(pk=rows[0].pk).update(state="sent", sent_at=timezone.now())
    Notification.objects.filter(pk=rows[1].pk).update(
        state="failed", attempts=20, last_error="550 no such mailbox"
    )
    body = owner_api.get(f"{ALERTS}/{rule['id']}/deliveries?perPage=2").json()
    assert body["total"] == 3
    assert body["hasMore"] is True
    assert [d["state"] for d in body["deliveries"]] == ["pending", "failed"]
    assert body["deliveries"][1]["lastError"] == "550 no such mailbox"
    counts = owner_api.get(f"{ALERTS}/{rule['id']}").json()["deliveries"]
    assert counts == {"sent": 1, "pending": 1, "failed": 1}


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (
            {"statuses": ["Exploded"], "emails": ["a@b.co"]},
            400,
            "ValidationError",
            "unknown status",
        ),
        ({"emails": ["a@b.co"]}, 400, "ValidationError", "needs an event"),
        ({"statuses": ["Failed"]}, 400, "ValidationError", "needs someone to tell"),
        ({"statuses": ["Failed"], "emails": ["not-an-address"]}, 400, "ValidationError", "email"),
        ({"statuses": ["Failed"], "webhook": "javascript:alert(1)"}, 400, "ValidationError", "URL"),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "filter": "x ="},
            400,
            "BadFilter",
            "position",
        ),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "experiment": "no"},
            400,
            "ValidationError",
            "no experiment",
        ),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "runId": "no"},
            400,
            "ValidationError",
            "no run",
        ),
        ({"statuses": ["Failed"], "members": ["ghost"]}, 400, "ValidationError", "not a member"),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "runningLongerThanHours": 0},
            400,
            "ValidationError",
            "runningLongerThanHours",
        ),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "noHeartbeatMinutes": -5},
            400,
            "ValidationError",
            "noHeartbeatMinutes",
        ),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "scope": "galaxy"},
            400,
            "BadRequest",
            "body.scope",
        ),
        ({"statuses": "Failed", "emails": ["a@b.co"]}, 400, "BadRequest", "body.statuses"),
        (
            {"statuses": ["Failed"], "emails": ["a@b.co"], "colour": "red"},
            400,
            "BadRequest",
            "colour",
        ),
        (
            {"statuses": ["Failed"], "emails": [f"a{i}@b.co" for i in range(21)]},
            400,
            "ValidationError",
            "at most 20",
        ),
    ],
)
def test_bad_rules_get_a_4xx_with_a_message(owner_api, experiment, body, status, code, fragment):
    assert_error(owner_api.post_json(ALERTS, body), status, code, fragment)
    assert not AlertRule.objects.exists()


def test_unknown_rules_are_404(owner_api, outsider_api, workspace):
    assert_error(owner_api.get(f"{ALERTS}/999"), 404, "NotFound")
    rule = owner_api.post_json(ALERTS, {"statuses": ["Failed"], "emails": ["a@b.co"]}).json()
    assert_error(outsider_api.get(f"{ALERTS}/{rule['id']}"), 404, "NotFound")
    assert_error(outsider_api.delete(f"{ALERTS}/{rule['id']}"), 404, "NotFound")
