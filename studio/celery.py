"""The Celery app, the one for every studio task.

- `celery -A studio worker -Q gpu-cluster` serves that compute target: it executes
  submitted runs of Celery targets (runs.executors.tasks), one queue per target
  name, and reaches the studio only through its JSON API (STUDIO_URL, STUDIO_TOKEN:
  a contributor's token; STUDIO_WORKSPACE: where its presence is shown), never the
  database.
- `celery -A studio worker -B` runs the notification sender and its schedule
  (runs.notifications.tasks), next to the database.

Configured from Django's settings (the CELERY_* names, e.g. CELERY_BROKER_URL), so a
worker needs the settings to load (`SECRET_KEY`, or `DEBUG=1`), not a database.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio", include=["runs.executors.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["runs.notifications"])
app.conf.beat_schedule = {
    # Retries, grouped sweeps and the "running long" / "no heartbeat" scans.
    "notifications": {"task": "runs.notifications.tick", "schedule": 10.0},
}
app.conf.update(
    # A run is taken from the queue once its worker is ready for it, and a worker that
    # dies before acknowledging leaves it queued (its claim then tells who has it).
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
