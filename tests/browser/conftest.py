"""Real-browser tests: Playwright's sync API driving the system Chromium.

Tests here are marked `browser`, use `live_server` with `transactional_db`
(the `browser_page` fixture asks for both) and are skipped where
/usr/bin/chromium is missing. Playwright's sync API runs an event loop, so
Django's async-safety check is relaxed for these tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def _browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser, live_server, transactional_db) -> Iterator:
    """A fresh page (own cookies) whose relative URLs go to the live server."""
    context = _browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def login(page, username: str, password: str = "password") -> None:  # noqa: S107 - factory password
    """Sign in through the login form (factories give every user the password `password`)."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def browser_login() -> Callable[..., None]:
    return login


@pytest.fixture
def logged_in_page(browser_page, live_server) -> Callable[..., object]:
    """`logged_in_page(user)`: the browser page signed in as `user` through the login form."""

    def _login(user, password: str = "password"):  # noqa: S107 - factory password
        login(browser_page, user.username, password)
        return browser_page

    return _login


def htmx_settled(page) -> None:
    """Wait until htmx has swapped and settled what it is loading (fields focused, new
    elements wired): filling a field earlier races htmx's own autofocus and triggers."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request:not([hx-trigger*=every]), .htmx-swapping, .htmx-settling, .htmx-added')"
    )
