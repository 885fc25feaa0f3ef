"""Alert rules, who muted them, and the outbox of notifications they write.

Imported by runs.models (the app's models module), so these are models of the
`runs` app; foreign keys name the other models by label to keep imports one way.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

RULE_NAME_MAX = 100
MAX_EMAILS = 20
WEBHOOK_MAX = 2000


class AlertRule(models.Model):
    """Which runs, which events, who hears about them.

    Every condition on runs that is set must hold (experiment, filter, subtree,
    submitter). Workspace rules are managed by owners; personal rules belong to
    `owner` and email only them.
    """

    class Scope(models.TextChoices):
        WORKSPACE = "workspace"
        PERSONAL = "personal"

    workspace = models.ForeignKey(
        "runs.Workspace", on_delete=models.CASCADE, related_name="alert_rules"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules"
    )
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.PERSONAL)
    name = models.CharField(max_length=RULE_NAME_MAX)
    # Which runs.
    experiment = models.ForeignKey(
        "runs.Experiment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The filter language (runs.query), in its canonical text; tested on the run after
    # the change.
    filter = models.TextField(blank=True)
    # This run and its descendants (a sweep).
    run = models.ForeignKey(
        "runs.Run", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Only runs submitted by the rule's owner.
    mine_only = models.BooleanField(default=False)
    # Which events.
    on_completed = models.BooleanField(default=False)
    on_failed = models.BooleanField(default=False)
    on_canceled = models.BooleanField(default=False)
    running_hours = models.PositiveIntegerField(null=True, blank=True)
    silent_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Who (workspace rules; a personal rule emails its owner).
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    all_members = models.BooleanField(default=False)
    emails = models.JSONField(default=list, blank=True)
    webhook = models.URLField(max_length=WEBHOOK_MAX, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "scope"], name="alert_rule_ws_scope")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_personal(self) -> bool:
        return self.scope == self.Scope.PERSONAL

    @property
    def statuses(self) -> list[str]:
        """The end statuses the rule reports, in the machine's order."""
        flags = (
            ("Completed", self.on_completed),
            ("Failed", self.on_failed),
            ("Canceled", self.on_canceled),
        )
        return [name for name, on in flags if on]


class AlertMute(models.Model):
    """A member who no longer wants a workspace rule's messages."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "user"], name="alert_mute_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} muted {self.rule}"


class Notification(models.Model):
    """One message owed to one recipient about one run: the outbox.

    Written in the transaction of the status change (or by the scan of running
    runs), delivered by runs.notifications.sender, which claims rows with a
    conditional UPDATE so that two senders never deliver one twice.
    """

    class Event(models.TextChoices):
        STATUS = "status"
        RUNNING_LONG = "running_long"
        NO_HEARTBEAT = "no_heartbeat"

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class State(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    workspace = models.ForeignKey(
        "runs.Workspace", on_delete=models.CASCADE, related_name="notifications"
    )
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="notifications")
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=20, choices=Event.choices, default=Event.STATUS)
    # The run's status when the event happened.
    status = models.CharField(max_length=20)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # An email address or a webhook URL.
    address = models.CharField(max_length=WEBHOOK_MAX)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The parent of a child run: its siblings' notifications within the grouping
    # window go out as one message (a sweep failing is one email, not hundreds).
    group_key = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(default=timezone.now)
    next_attempt = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A sender's claim: its token, until when (a crashed sender's claim runs out).
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt"], name="notification_due"),
            models.Index(fields=["rule", "-created"], name="notification_rule_created"),
            models.Index(fields=["claim"], name="notification_claim"),
        ]
        constraints = [
            # The scan of running runs writes "running long" and "no heartbeat" once.
            models.UniqueConstraint(
                fields=["rule", "run", "event", "channel", "address"],
                condition=~Q(event="status"),
                name="notification_once_per_scan_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.run_id} {self.status} -> {self.address}"
