"""Concurrent writers through real studio processes.

- Eight clients writing at once through one studio (SQLite's hard case): every
  answer is a 2xx, none says "database is locked".
- On PostgreSQL, two web processes and two workers: concurrent tag edits, cancels
  and status changes lose no update, a terminal status stays terminal, and each
  alert is mailed (to a real SMTP server on loopback) exactly once.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import Counter
from collections.abc import Callable

import pytest
import requests
from django.db import connection

from runs import services
from runs.lifecycle import TERMINAL
from runs.models import Membership, Role, Run, RunEvent, Tag
from runs.notifications.models import Notification
from runs.services import alerts as alert_services
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.notifications.conftest import SmtpServer, free_port
from tests.resilience.servers import studio
from tests.workers import runworker, wait_until

WRITERS = 8
ROUNDS = 6


@pytest.fixture
def team(transactional_db):
    ws = WorkspaceFactory(slug="team")
    user = UserFactory(username="trainer")
    MembershipFactory(workspace=ws, user=user, role=Role.OWNER)
    exp = services.experiment_get_or_create(workspace=ws, name="race")
    return ws, user, exp


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def together(bodies: list[Callable[[], None]]) -> None:
    """Run each body in its own thread, all starting at once; raise what any raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(bodies))

    def thread(body: Callable[[], None]) -> None:
        try:
            start.wait()
            body()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)


def test_eight_writers_at_once_never_see_database_is_locked(tmp_path, team):
    ws, user, exp = team
    token = services.token_create(user=user, name="writers")[1]
    shared = services.run_create(experiment=exp, user=user)
    own = [services.run_create(experiment=exp, user=user) for _ in range(WRITERS)]
    answers: Counter = Counter()
    refused: list[str] = []

    with studio(tmp_path) as server:
        api = f"{server.url}/api/w/team/runs"

        def writer(i: int) -> None:
            session = _session(token)
            run = own[i].pk
            for n in range(ROUNDS):
                for method, url, body in (
                    ("patch", f"{api}/{shared.pk}/tags", {"set": {f"writer{i}": str(n)}}),
                    ("post", f"{api}/{run}/metrics", {"series": [{"name": "loss", "values": [n]}]}),
                    ("post", f"{api}/{run}/properties", {"properties": {f"p{n}": "x"}}),
                    ("patch", f"{api}/{run}", {"description": f"round {n}"}),
                    ("post", f"{api}/{shared.pk}/heartbeat", None),
                ):
                    response = getattr(session, method)(url, json=body, timeout=60)
                    answers[response.status_code // 100] += 1
                    if response.status_code >= 300 or "locked" in response.text:
                        refused.append(f"{response.status_code} {response.text[:200]}")

        together([lambda i=i: writer(i) for i in range(WRITERS)])
        log = server.log.read_text()

    assert refused == []
    assert answers == {2: WRITERS * ROUNDS * 5}
    assert "database is locked" not in log
    tags = dict(Tag.objects.filter(run=shared).values_list("key", "value"))
    assert tags == {f"writer{i}": str(ROUNDS - 1) for i in range(WRITERS)}


RUNS = 10


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="several web processes need PostgreSQL"
)
def test_two_webs_and_two_workers_lose_nothing_and_mail_each_alert_once(tmp_path, team):
    ws, user, exp = team
    token = services.token_create(user=user, name="race")[1]
    runs = [services.run_create(experiment=exp, user=user) for _ in range(RUNS)]
    actor = Membership.objects.get(workspace=ws, user=user)
    alert_services.alert_rule_create(
        actor=actor,
        spec=alert_services.RuleSpec(
            name="ends",
            scope="workspace",
            statuses=["Completed", "Canceled", "Failed"],
            emails=["ops@example.com"],
        ),
    )
    smtp = SmtpServer(free_port())
    smtp.start()
    mail = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port), "EMAIL_TIMEOUT": "5"}
    try:
        with (
            studio(tmp_path, "web-a") as web_a,
            studio(tmp_path, "web-b") as web_b,
            runworker(web_a.url, tmp_path, name="worker-a", **mail),
            runworker(web_b.url, tmp_path, name="worker-b", **mail),
        ):
            webs = itertools.cycle([web_a.url, web_b.url])
            _race(token, runs, webs)
            _finish(token, runs, next(webs))
            wait_until(
                lambda: Notification.objects.filter(state=Notification.State.SENT).count() >= RUNS,
                timeout=60,
                what="the workers to send every alert",
            )
    finally:
        smtp.stop()

    # No lost update: every tagger's last value, on every run.
    for run in runs:
        tags = dict(Tag.objects.filter(run=run).values_list("key", "value"))
        assert tags == {f"tagger{i}": str(ROUNDS - 1) for i in range(4)}, run.pk
    # Terminal stays terminal: no status change after the first terminal one.
    for run in runs:
        moves = list(
            RunEvent.objects.filter(run=run, kind=RunEvent.Kind.STATUS)
            .order_by("id")
            .values_list("new", flat=True)
        )
        first_end = next(i for i, status in enumerate(moves) if status in TERMINAL)
        assert first_end == len(moves) - 1, (run.pk, moves)
        assert Run.objects.get(pk=run.pk).status == moves[-1]
    # Each alert sent once, by one of the two workers.
    notifications = Notification.objects.all()
    assert Counter(n.run_id for n in notifications) == {run.pk: 1 for run in runs}
    assert {n.state for n in notifications} == {Notification.State.SENT}
    bodies = [m.get_body(("plain",)).get_content() for m in smtp.inbox.messages]
    mentions = Counter(run.pk for run in runs for body in bodies if run.pk in body)
    assert mentions == {run.pk: 1 for run in runs}
    assert connection.vendor == "postgresql"


def _race(token: str, runs: list[Run], webs) -> None:
    """Taggers, a canceller, a completer and a finaliser on every run at once, through both
    web processes. (No `fail`: Completed -> Failed is the one move out of a terminal
    status the design allows.)"""

    def tagger(i: int, url: str) -> None:
        session = _session(token)
        for n in range(ROUNDS):
            for run in runs:
                body = {"set": {f"tagger{i}": str(n)}}
                response = session.patch(f"{url}/api/w/team/runs/{run.pk}/tags", json=body)
                assert response.status_code == 200, response.text

    def mover(action: str, body: dict, url: str) -> None:
        session = _session(token)
        for run in runs:
            response = session.post(f"{url}/api/w/team/runs/{run.pk}/{action}", json=body)
            # Moves that lost the race are refused with a 409 naming both statuses.
            assert response.status_code in (200, 409), response.text

    movers = [
        ("cancel", {}),
        ("complete", {}),
        ("status", {"status": "Finalizing"}),
    ]
    bodies = [functools.partial(tagger, i, next(webs)) for i in range(4)]
    bodies += [functools.partial(mover, action, body, next(webs)) for action, body in movers]
    together(bodies)


def _finish(token: str, runs: list[Run], url: str) -> None:
    """Runs the race left executing end now (a cancel the process saw, a finalised run)."""
    session = _session(token)
    for run in Run.objects.filter(pk__in=[r.pk for r in runs]).exclude(status__in=TERMINAL):
        action = "complete" if run.status == "Finalizing" else "fail"
        response = session.post(f"{url}/api/w/team/runs/{run.pk}/{action}", json={})
        assert response.status_code == 200, response.text
