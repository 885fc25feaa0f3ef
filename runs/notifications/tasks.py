"""Celery tasks: the sender as a task (queued when a status change writes notifications,
with STUDIO_NOTIFY_CELERY), and its periodic round (studio/celery.py's beat schedule)."""

from celery import shared_task

from runs.notifications.outbox import SEND_TASK
from runs.notifications.sender import notifications_send_due, notifications_tick


@shared_task(name=SEND_TASK, ignore_result=True)
def send_due() -> str:
    """Send the notifications that are due."""
    return str(notifications_send_due())


@shared_task(name="runs.notifications.tick", ignore_result=True)
def tick() -> str:
    """Scan running runs for the rules watching them, then send what is due."""
    return str(notifications_tick())
