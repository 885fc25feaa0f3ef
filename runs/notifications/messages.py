"""What a notification says: the email (subject, text and HTML parts) and the webhook body.

A message covers one or more notifications of one rule to one recipient: a run's
status change, or a storm of a parent's children grouped together. Links are
built from STUDIO_BASE_URL (the sender runs outside any request, and a Host
header is never trusted for them). Everything users wrote (names, tags, error
text) is escaped in the HTML part and in the webhook's Slack text; the subject
is one line.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from runs.api.documents import run_document
from runs.durations import duration_text
from runs.models import AlertRule, Notification, Run

# Runs listed by name in a grouped message; the rest are counted.
MAX_LISTED = 50
MAX_METRICS = 10
MAX_ERROR_CHARS = 2000
MAX_SUBJECT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str, limit: int) -> str:
    """Text safe for a header: control characters and newlines become spaces."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def absolute(path: str) -> str:
    return settings.STUDIO_BASE_URL + path


def _value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "NaN" if value is not None else "null"
    return f"{value:.6g}"


@dataclass
class RunLine:
    """One run as a message shows it."""

    run_id: str
    name: str
    experiment: str
    status: str
    duration: str
    submitter: str
    url: str
    error_code: str = ""
    error_message: str = ""
    metrics: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str | None]] = field(default_factory=list)


def run_line(run: Run, status: str) -> RunLine:
    metrics = [(m.name, _value(m.value)) for m in list(run.latest_metrics.all())[:MAX_METRICS]]
    error = run.error_message or ""
    if len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + "…"
    return RunLine(
        run_id=run.pk,
        name=run.display_name or run.pk,
        experiment=run.experiment.name,
        status=status,
        duration=duration_text(run.duration),
        submitter=run.submitted_by.get_username() if run.submitted_by else "",
        url=absolute(reverse("runs:run-detail", args=[run.workspace.slug, run.pk])),
        error_code=run.error_code if status == "Failed" else "",
        error_message=error if status == "Failed" else "",
        metrics=metrics,
        tags=[(t.key, t.value) for t in run.tags.all()],
    )


@dataclass
class Message:
    subject: str
    text: str
    html: str
    webhook: dict[str, Any]


def _what(notification: Notification, rule: AlertRule) -> str:
    """The event in words: a status, or how long the run has been running or silent."""
    if notification.event == Notification.Event.RUNNING_LONG:
        hours = rule.running_hours
        return f"running for over {hours} hour{'s' if hours != 1 else ''}"
    if notification.event == Notification.Event.NO_HEARTBEAT:
        minutes = rule.silent_minutes
        return f"no heartbeat for {minutes} minute{'s' if minutes != 1 else ''}"
    return notification.status


def _statuses(notifications: list[Notification], rule: AlertRule) -> str:
    counts = Counter(_what(n, rule) for n in notifications)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {what}" for what, n in counts.most_common())


def build(*, rule: AlertRule, notifications: list[Notification], runs: dict[str, Run]) -> Message:
    """The message for `notifications` (one rule, one recipient); `runs` by id, loaded
    with workspace, experiment, submitter, tags, properties and latest metrics."""
    first = notifications[0]
    ws = rule.workspace.slug
    lines = [run_line(runs[n.run_id], _what(n, rule)) for n in notifications]
    what = _statuses(notifications, rule)
    parent = runs.get(first.group_key) if first.group_key and len(notifications) > 1 else None
    experiment = lines[0].experiment
    if len(lines) == 1:
        line = lines[0]
        label = line.name if line.name == line.run_id else f"{line.name} ({line.run_id})"
        headline = f"{experiment}: {label} {what}"
    else:
        under = first.group_key
        if parent is not None and parent.display_name:
            under = f"{parent.display_name} ({parent.pk})"
        headline = f"{experiment}: {len(lines)} runs under {under} {what}"
    parent_url = (
        absolute(reverse("runs:run-detail", args=[ws, first.group_key]))
        if (first.group_key and len(lines) > 1)
        else ""
    )
    ctx = {
        "headline": headline,
        "workspace": ws,
        "rule": rule,
        "lines": lines[:MAX_LISTED],
        "more": max(len(lines) - MAX_LISTED, 0),
        "single": lines[0] if len(lines) == 1 else None,
        "parent_url": parent_url,
        "alerts_url": absolute(reverse("runs:alerts", args=[ws])),
    }
    subject = one_line(f"[{ws}] {headline}", MAX_SUBJECT)
    return Message(
        subject=subject,
        text=render_to_string("runs/email/notification.txt", ctx),
        html=render_to_string("runs/email/notification.html", ctx),
        webhook=_webhook(rule, first, lines, headline, parent_url, runs, notifications),
    )


def slack_escape(text: str) -> str:
    """Slack's three control characters in user text (its `text` is mrkdwn)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _webhook(
    rule: AlertRule,
    first: Notification,
    lines: list[RunLine],
    headline: str,
    parent_url: str,
    runs: dict[str, Run],
    notifications: list[Notification],
) -> dict[str, Any]:
    ws = rule.workspace.slug
    link = parent_url or lines[0].url
    text = f"*[{slack_escape(ws)}] {slack_escape(headline)}* <{link}|Open in the studio>"
    single = lines[0] if len(lines) == 1 else None
    if single is not None and single.error_message:
        code = f"{single.error_code}: " if single.error_code else ""
        text += "\n" + slack_escape(one_line(code + single.error_message, 500))
    documents = [run_document(runs[n.run_id]) for n in notifications[:MAX_LISTED]]
    return {
        "text": text,
        "event": first.event,
        "status": first.status,
        "workspace": ws,
        "rule": {"id": rule.pk, "name": rule.name},
        "run": documents[0],
        "runs": documents,
        "runCount": len(lines),
    }
