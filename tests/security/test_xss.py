"""Stored XSS: every field a page shows, holding each payload of the corpus, rendered
through the real pages and emails and read back with html5lib.

A page passes when it has no script element of a value's making, no event-handler
attribute, no javascript:/data:/vbscript: URL, no htmx attribute from a value,
and no (element, attribute) beyond what the same page has with harmless values
(the description may add its sanitiser's allowed markup). The corpus is cut into
shards that build their own workspace; `XSS_SHARDS` (environment) changes their
number. tests/browser/test_xss_dialogs.py opens a sample in Chromium.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from django.core import mail
from django.urls import reverse

from runs.notifications import sender
from tests.security import html_check
from tests.security.xss_payloads import PAYLOADS
from tests.security.xss_world import FIELDS, HARMLESS, Planted, XssWorld, build_xss_world

SHARDS = int(os.environ.get("XSS_SHARDS", "4"))
# XSS_FULL=1: every page of each planted run (its htmx variant and each of its parts),
# and every view and alert rule page; otherwise the run's page, its description's
# page and its log, the lists, and a few view and rule pages.
FULL = os.environ.get("XSS_FULL", "") == "1"
SAMPLE = 3

# Any count of a pair: for pages listing many things, only new kinds of markup count.
ANY = 10**9


def test_the_corpus_is_large_and_varied():
    assert len(PAYLOADS) >= 200
    assert {"<script>pwned()</script>", "{{7*7}}"} <= set(PAYLOADS)


def _get(client, url: str, **params) -> str:
    response = client.get(url, params)
    # 286: htmx's "stop polling" (a finished run's log read to its end).
    assert response.status_code in (200, 286), (url, response.status_code)
    assert response["Content-Type"].startswith("text/html"), url
    return response.content.decode()


def _run_pages(client, world: XssWorld, planted: Planted) -> dict[str, str]:
    """The pages of one planted pair of runs."""
    ws = world.workspace.slug
    run, described = planted.run, planted.described
    pages = {
        "run detail": _get(client, reverse("runs:run-detail", args=[ws, run.pk])),
        # The description's own region: the full page of that run only with XSS_FULL.
        "description": _get(
            client,
            reverse("runs:run-detail", args=[ws, described.pk])
            if FULL
            else reverse("runs:run-part", args=[ws, described.pk, "run-description"]),
        ),
    }
    if FULL:
        url = reverse("runs:run-detail", args=[ws, run.pk])
        pages["run detail (htmx)"] = _get_hx(client, url)
        for part in ("run-overview", "run-tags", "run-activity", "run-logs", "run-title"):
            pages[part] = _get(client, reverse("runs:run-part", args=[ws, run.pk, part]))
    log = run.files.filter(path="logs/std_log.txt").first()
    if log is not None:
        pages["log"] = _get(client, reverse("runs:run-log", args=[ws, run.pk, log.pk]), offset=0)
    return pages


def _get_hx(client, url: str) -> str:
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def _shared_pages(client, world: XssWorld) -> dict[str, str]:
    """Pages that show many planted things at once."""
    ws = world.workspace.slug
    runs = [p.run for p in [world.harmless, *world.planted]]
    pages = {
        "workspace home": _get(client, reverse("runs:workspace-home", args=[ws])),
        "saved views": _get(client, reverse("runs:saved-views", args=[ws])),
        "views menu": _get(client, reverse("runs:saved-view-menu", args=[ws])),
        "alerts": _get(client, reverse("runs:alerts", args=[ws])),
        "status events": _get(client, reverse("runs:status-events", args=[ws])),
        "outbox": _get(client, reverse("runs:alert-outbox", args=[ws])),
    }
    list_url = reverse("runs:run-list", args=[ws])
    cols = "name,status,experiment,created,tags,metrics.note,properties.p,metrics.loss"
    for page in range(1, len(runs) * 2 // 100 + 2):
        pages[f"run list {page}"] = _get(client, list_url, per_page=100, page=page, cols=cols)
    pages["run list search"] = _get(client, list_url, q="pwned")
    for i in range(0, len(runs), 20):
        ids = ",".join(r.pk for r in runs[i : i + 20])
        pages[f"compare {i}"] = _get(client, reverse("runs:compare", args=[ws]), runs=ids)
    planted_all = [world.harmless, *world.planted]
    for planted in planted_all if FULL else planted_all[: SAMPLE + 1]:
        if planted.view is not None:
            key = f"view {planted.view.pk}"
            pages[key] = _get(client, reverse("runs:saved-view", args=[ws, planted.view.pk]))
        if planted.rule is not None:
            url = reverse("runs:alert-detail", args=[ws, planted.rule.pk])
            pages[f"rule {planted.rule.pk}"] = _get(client, url)
    return pages


def _emails() -> dict[str, str]:
    """The HTML body of every alert email the planted failures sent, by subject."""
    mail.outbox.clear()
    sender.notifications_send_due(limit=10_000)
    bodies = {}
    for message in mail.outbox:
        (html,) = [body for body, kind in message.alternatives if kind == "text/html"]
        bodies[message.subject] = html
    return bodies


def _any_count(html: str | object) -> Counter:
    return Counter(dict.fromkeys(html_check.markup(html), ANY))


def _shard(index: int) -> list[str]:
    return PAYLOADS[index::SHARDS]


def check_world(world: XssWorld, client) -> dict[str, list[str]]:
    """Every problem of every page and email, by payload."""
    # The studio's own markup: the harmless twin's pages, and a bare run's (a field a
    # service refused is shown as missing: "no properties", an empty description).
    base = {n: html_check.markup(h) for n, h in _run_pages(client, world, world.harmless).items()}
    for name, html in _run_pages(client, world, world.bare).items():
        base[name] |= html_check.markup(html)
    base["description"] |= base["run detail"]
    problems: dict[str, list[str]] = {}
    for planted in world.planted:
        for name, html in _run_pages(client, world, planted).items():
            found = html_check.problems(html, base[name], markdown=name == "description")
            problems.setdefault(planted.payload, []).extend(f"{name}: {p}" for p in found)
    # Pages and emails about many things: new kinds of markup count, not new rows.
    shared = Counter()
    pages = {name: html_check.parse(html) for name, html in _shared_pages(client, world).items()}
    for doc in pages.values():
        shared |= _any_count(doc)
    emails = _emails()
    (harmless,) = [html for subject, html in emails.items() if HARMLESS in subject]
    found = []
    for name, html in pages.items():
        found += [f"{name}: {p}" for p in html_check.problems(html, shared)]
    for subject, html in emails.items():
        found += [
            f"email {subject!r}: {p}" for p in html_check.problems(html, _any_count(harmless))
        ]
    problems["pages and emails about many runs"] = found
    return {payload: found for payload, found in problems.items() if found}


@pytest.mark.parametrize("shard", range(SHARDS))
def test_payloads_are_neutralised_on_every_page_and_email(db, client, settings, shard):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    payloads = _shard(shard)
    world = build_xss_world(payloads)
    client.force_login(world.owner)
    assert check_world(world, client) == {}
    # Every field was tried: the studio refuses some payloads (experiment names are
    # [A-Za-z0-9._-], file names have no '..'), and stores the rest.
    assert set(world.stored) | set(world.refused) == set(FIELDS)
    assert sum(world.stored.values()) > len(payloads) * 10
    assert len(mail.outbox) == sum(p.rule is not None for p in world.planted) + 1
