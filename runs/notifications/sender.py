"""Delivering the outbox: email through Django's email API, webhooks over HTTP.

`notifications_send_due()` sends what is due once; runworker, Celery and
`manage.py send_notifications` call it. Each message is claimed before it is
sent with one conditional UPDATE (still pending, nobody's live claim), so two
senders running at once never deliver a notification twice: the second one's
UPDATE finds the rows taken. A failure is recorded on the rows (attempts, last
error) and retried after a capped exponential backoff (the first retry after
STUDIO_NOTIFY_RETRY_SECONDS); after STUDIO_NOTIFY_MAX_ATTEMPTS tries, or a
refusal that retrying cannot change, they are marked failed.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from runs.models import AlertRule, Notification, Run
from runs.notifications import messages, outbox, webhooks
from runs.notifications.mailbox import WORKSPACE_HEADER
from runs.selectors.runs import RUN_DOCUMENT_PREFETCH

logger = logging.getLogger(__name__)

# How long a claim holds: far longer than one delivery (SMTP and webhook time out sooner).
CLAIM_SECONDS = 300
# Messages one call sends at most (the next call sends the rest).
BATCH = 200
USER_AGENT = "RunHistoryStudio/1 (alert webhook)"


class Refused(Exception):
    """The receiving end refused in a way that retrying cannot change."""


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: doubling from the base, capped."""
    base = settings.STUDIO_NOTIFY_RETRY_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.STUDIO_NOTIFY_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def notifications_tick(*, now: datetime | None = None) -> SendReport:
    """A periodic round: scan running runs for rules that watch them, then send what is due."""
    outbox.scan_running(now=now)
    return notifications_send_due(now=now)


def notifications_send_due(*, now: datetime | None = None, limit: int = BATCH) -> SendReport:
    """Send every due notification (at most `limit` messages); a report of what happened."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    report = SendReport()
    connection = get_connection(fail_silently=False)
    try:
        for group in _due_groups(now, limit):
            claimed = _claim(group, token, now)
            if claimed:
                _deliver(claimed, token, now, connection, report)
    finally:
        try:
            connection.close()
        except Exception:  # a server that went away meanwhile: nothing left to close
            logger.debug("closing the email connection failed", exc_info=True)
    return report


def _free(now: datetime) -> Q:
    return Q(state=Notification.State.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _due_groups(now: datetime, limit: int) -> list[QuerySet[Notification]]:
    """The due messages, oldest first: each a queryset of the rows it carries."""
    due = (
        Notification.objects.filter(_free(now), next_attempt__lte=now)
        .order_by("next_attempt", "id")
        .values("id", "rule_id", "channel", "address", "group_key", "created")[: limit * 10]
    )
    window = timedelta(seconds=settings.STUDIO_NOTIFY_GROUP_SECONDS)
    groups, seen = [], set()
    for row in due:
        if not row["group_key"]:
            groups.append(Notification.objects.filter(pk=row["id"]))
        else:
            key = (row["rule_id"], row["channel"], row["address"], row["group_key"])
            if key in seen:
                continue
            seen.add(key)
            # The siblings written within the window of the first due go with it; later
            # ones wait for a window of their own.
            groups.append(
                Notification.objects.filter(
                    rule_id=row["rule_id"],
                    channel=row["channel"],
                    address=row["address"],
                    group_key=row["group_key"],
                    created__lte=row["created"] + window,
                )
            )
        if len(groups) >= limit:
            break
    return groups


def _claim(group: QuerySet[Notification], token: str, now: datetime) -> list[Notification]:
    """Take the group's free rows for this sender; [] if another sender was first."""
    until = now + timedelta(seconds=CLAIM_SECONDS)
    if not group.filter(_free(now)).update(claim=token, claimed_until=until):
        return []
    return list(
        Notification.objects.filter(claim=token, state=Notification.State.PENDING)
        .select_related("rule__workspace")
        .order_by("run_id", "id")
    )


def _runs(notifications: list[Notification]) -> dict[str, Run]:
    ids = {n.run_id for n in notifications} | {n.group_key for n in notifications if n.group_key}
    found = (
        Run.objects.filter(pk__in=ids)
        .select_related("workspace", "experiment", "submitted_by")
        .prefetch_related(*RUN_DOCUMENT_PREFETCH)
    )
    return {run.pk: run for run in found}


def _deliver(
    rows: list[Notification], token: str, now: datetime, connection, report: SendReport
) -> None:
    first = rows[0]
    rule: AlertRule = first.rule
    mine = Notification.objects.filter(pk__in=[n.pk for n in rows], claim=token)
    try:
        message = messages.build(rule=rule, notifications=rows, runs=_runs(rows))
        if first.channel == Notification.Channel.WEBHOOK:
            _post(first.address, message)
        else:
            _email(first.address, message, rule, connection)
    except Exception as exc:  # every failure is recorded on the rows and retried
        _failed(mine, rows, exc, now, report)
        return
    done = timezone.now()
    mine.update(
        state=Notification.State.SENT,
        sent_at=done,
        attempts=F("attempts") + 1,
        last_error="",
        claim="",
        claimed_until=None,
    )
    report.sent += 1


def _email(address: str, message: messages.Message, rule: AlertRule, connection) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        connection=connection,
        headers={WORKSPACE_HEADER: rule.workspace.slug, "X-Studio-Rule": str(rule.pk)},
    )
    email.attach_alternative(message.html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise Refused(f"the mail server refused {address}: {_smtp_reason(exc)}") from exc
    except smtplib.SMTPException:
        # Whatever state the conversation is in, the next message starts a fresh one.
        connection.close()
        raise


def _smtp_reason(exc: smtplib.SMTPRecipientsRefused) -> str:
    for code, text in exc.recipients.values():
        reason = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{code} {reason}"
    return str(exc)


def _post(url: str, message: messages.Message) -> None:
    try:
        response = webhooks.post(
            url,
            json=message.webhook,
            timeout=settings.STUDIO_WEBHOOK_TIMEOUT,
            headers={"User-Agent": USER_AGENT},
        )
    except webhooks.AddressRefused as exc:
        raise Refused(str(exc)) from None
    if 200 <= response.status_code < 300:
        return
    body = " ".join(response.text[:200].split())
    error = f"the webhook answered HTTP {response.status_code}" + (f": {body}" if body else "")
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise Refused(error)
    raise OSError(error)


def _describe(exc: Exception) -> str:
    if isinstance(exc, Refused | OSError) and str(exc):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split())[:1000]


def _failed(
    mine: QuerySet[Notification],
    rows: list[Notification],
    exc: Exception,
    now: datetime,
    report: SendReport,
) -> None:
    attempts = max(n.attempts for n in rows) + 1
    give_up = isinstance(exc, Refused) or attempts >= settings.STUDIO_NOTIFY_MAX_ATTEMPTS
    error = _describe(exc)
    logger.warning(
        "notification %s to %s failed (attempt %s): %s",
        rows[0].pk,
        rows[0].address,
        attempts,
        error,
    )
    mine.update(
        attempts=F("attempts") + 1,
        last_error=error,
        next_attempt=now + retry_delay(attempts),
        state=Notification.State.FAILED if give_up else Notification.State.PENDING,
        claim="",
        claimed_until=None,
    )
    if give_up:
        report.failed += 1
    else:
        report.retrying += 1
