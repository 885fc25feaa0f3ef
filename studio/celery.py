"""The Celery app: `celery -A studio worker -B` runs the studio's tasks and their schedule.

Configured from Django's settings (the CELERY_* names, e.g. CELERY_BROKER_URL).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["runs.notifications"])
app.conf.beat_schedule = {
    # Retries, grouped sweeps and the "running long" / "no heartbeat" scans.
    "notifications": {"task": "runs.notifications.tick", "schedule": 10.0},
}
