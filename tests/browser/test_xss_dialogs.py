"""A sample of the XSS corpus in Chromium: no dialog opens, no request goes to /pwned.

Every payload that runs calls `pwned()`, defined here to open an alert, or
fetches `/pwned`; the page listens for dialogs (alert, confirm, prompt) and
requests. tests/security/test_xss.py reads every payload back with html5lib;
this is the browser's word on a sample of them (XSS_FULL=1: the whole corpus).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import htmx_settled
from tests.security.xss_payloads import HTMX, PAYLOADS, SCHEMES
from tests.security.xss_world import build_xss_world

pytestmark = pytest.mark.browser

FULL = os.environ.get("XSS_FULL", "") == "1"
# Every 20th payload, some htmx ones, and a few split schemes as links.
SAMPLE = list(dict.fromkeys([*PAYLOADS[::20], *HTMX[:5], *(f"[x]({s})" for s in SCHEMES[4:7])]))

PWNED = """
window.pwned = () => alert("pwned");
"""


def test_no_payload_opens_a_dialog_or_calls_home(browser_page, browser_login, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    payloads = PAYLOADS if FULL else SAMPLE
    world = build_xss_world(payloads)
    page = browser_page
    dialogs, calls = [], []

    def on_dialog(dialog) -> None:
        dialogs.append((page.url, dialog.type, dialog.message))
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # Smuggled htmx attributes fetch /pwned (a relative "java\u00adscript:pwned()" image,
    # harmless, fetches /w/.../java%C2%ADscript:pwned()).
    page.on("request", lambda r: calls.append(r.url) if urlsplit(r.url).path == "/pwned" else None)
    page.add_init_script(PWNED)
    browser_login(page, world.owner.username)
    ws = world.workspace.slug
    urls = [f"/w/{ws}/runs/?per_page=100", f"/w/{ws}/views/", f"/w/{ws}/settings/alerts/"]
    for planted in world.planted:
        urls += [f"/w/{ws}/runs/{planted.run.pk}/", f"/w/{ws}/runs/{planted.described.pk}/"]
    for url in urls:
        page.goto(url)
        htmx_settled(page)
    # The harness itself works: a payload run by hand opens the dialog.
    page.evaluate("pwned()")
    assert dialogs.pop()[2] == "pwned"
    assert dialogs == []
    assert calls == []
    assert len(urls) > 2 * len(payloads)
