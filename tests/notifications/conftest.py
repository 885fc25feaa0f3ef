"""Alert fixtures: a real SMTP server on loopback (aiosmtpd), rules, time."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from runs.models import AlertRule, Membership, Role
from tests.factories import ExperimentFactory, MembershipFactory, UserFactory


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received: parsed messages and their envelopes."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or e.content, policy=email.policy.default)
            for e in self.envelopes
        ]


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, started and stopped at will (to play a server that
    is down, then back)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and the studio's email settings pointing at it."""
    server = SmtpServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "studio@example.com"
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    server.start()
    yield server
    server.stop()


@pytest.fixture
def owner(workspace):
    user = UserFactory(username="olga", email="olga@example.com")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def experiment(workspace):
    return ExperimentFactory(workspace=workspace, name="mnist")


def rule(workspace, owner, *, members=(), **fields) -> AlertRule:
    """A workspace rule made straight in the database (the services are tested apart)."""
    fields.setdefault("name", "test rule")
    fields.setdefault("scope", AlertRule.Scope.WORKSPACE)
    made = AlertRule.objects.create(workspace=workspace, owner=owner, **fields)
    made.members.set(members)
    return made


def member(workspace, username: str, role: str = Role.READER, email: str | None = None):
    user = UserFactory(
        username=username, email=f"{username}@example.com" if email is None else email
    )
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)
