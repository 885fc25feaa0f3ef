"""Notifications benchmark: what alert rules add to a status change, and how fast the
sender delivers to a real SMTP server on loopback (aiosmtpd).

    .venv/bin/python bench/notifications.py [--runs 500]

On a fresh SQLite file under bench/results/ (deleted first): `--runs` top-level runs
completed through runs.status.transition with no rule, then with 10 rules (5 with a
filter), ms a change and queries a change; then `--runs` failures mailed one message
each, and a sweep of `--runs` failing children mailed as one message. See
bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB = BASE_DIR / "bench" / "results" / "notifications.sqlite3"


def configure() -> None:
    DB.parent.mkdir(parents=True, exist_ok=True)
    for path in (DB, DB.with_suffix(".sqlite3-wal"), DB.with_suffix(".sqlite3-shm")):
        path.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    n = parser.parse_args().runs
    configure()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from runs import services, status
    from runs.models import AlertRule, Membership, Notification
    from runs.notifications.sender import notifications_send_due
    from runs.services.alerts import RuleSpec, alert_rule_create
    from runs.status import Status

    owner = services.user_get_or_create(username="olga")
    owner.email = "olga@example.com"
    owner.save()
    ws = services.workspace_create(slug="bench", owner=owner)
    exp = services.experiment_get_or_create(workspace=ws, name="mnist")
    actor = Membership.objects.get(workspace=ws, user=owner)

    def complete_many(label: str) -> None:
        runs = [services.run_create(experiment=exp, user=owner) for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            status.transition(runs[0], Status.COMPLETED)
        start = time.perf_counter()
        for run in runs[1:]:
            status.transition(run, Status.COMPLETED)
        elapsed = time.perf_counter() - start
        print(f"{label:<36} {elapsed / (n - 1) * 1000:6.2f} ms a change, {len(queries)} queries")

    complete_many("status change, no rule")
    for i in range(10):
        spec = RuleSpec(
            name=f"r{i}",
            statuses=["Completed"],
            emails=[f"ops{i}@example.com"],
            filter="tags.team = 'vision'" if i % 2 else "",
        )
        alert_rule_create(actor=actor, spec=spec)
    complete_many("status change, 10 rules (5 filters)")
    Notification.objects.all().delete()
    AlertRule.objects.all().delete()
    alert_rule_create(actor=actor, spec=RuleSpec(statuses=["Failed"], emails=["ops@example.com"]))

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    try:
        for run in [services.run_create(experiment=exp, user=owner) for _ in range(n)]:
            services.run_fail(run=run)
        start = time.perf_counter()
        sent = 0
        while Notification.objects.filter(state="pending").exists():
            sent += notifications_send_due().sent
        elapsed = time.perf_counter() - start
        print(f"{sent} failures, a message each      {sent / elapsed:6.0f} messages/s")

        sweep = services.run_create(experiment=exp, user=owner)
        for child in services.run_create_children(parent=sweep, count=n):
            services.run_fail(run=child)
        before = len(received)
        later = timezone.now() + timedelta(seconds=61)
        start = time.perf_counter()
        report = notifications_send_due(now=later)
        elapsed = time.perf_counter() - start
        print(
            f"a sweep of {n} failing children     {report.sent} message "
            f"({len(received) - before} received) in {elapsed * 1000:.0f} ms"
        )
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
