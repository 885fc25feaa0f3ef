"""The embedded email backend: each message a `.eml` file, by workspace, for the Outbox tab.

With no SMTP server configured (no EMAIL_HOST), mail goes to
`EMAIL_FILE_PATH/<workspace>/<time>-<id>.eml` (the workspace from the
message's X-Studio-Workspace header; `_other/` without one). Each file is
written under a temporary name and renamed, so a reader never sees half a
message.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

WORKSPACE_HEADER = "X-Studio-Workspace"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def mail_dir() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def workspace_dir(slug: str) -> Path:
    """Where the messages about workspace `slug` are written."""
    return mail_dir() / (slug if _SAFE.match(slug or "") else "_other")


class EmailBackend(BaseEmailBackend):
    """Writes every message to its own file (see the module's docstring)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            folder = workspace_dir(message.extra_headers.get(WORKSPACE_HEADER, ""))
            try:
                folder.mkdir(parents=True, exist_ok=True)
                stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
                path = folder / f"{stamp}-{secrets.token_hex(4)}.eml"
                partial = path.with_suffix(".part")
                partial.write_bytes(message.message().as_bytes(linesep="\n"))
                os.replace(partial, path)
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
