"""Scale benchmark: the studio's calls at 100,000 runs (SQLite) or 1,000,000 (PostgreSQL).

    .venv/bin/python bench/scale.py                                  # SQLite, 100,000 runs
    .venv/bin/python bench/scale.py --runs 1000                      # the same calls at 1,000
    .venv/bin/python bench/scale.py --url postgres://postgres@127.0.0.1:5432/studio_bench \\
                                    --runs 1000000                   # PostgreSQL, a million

Seeds the workspace `scale` in bulk (bench/seed.py: 3 metrics x 10 steps a run, 10%
children, 5 tags; kept between runs of the bench: a SQLite file in bench/results/, or
the PostgreSQL database given, which it fills when the workspace is missing), refreshes
the planner's statistics, then times each call through Django's test client with DEBUG
off (server time, no network): the run list's five queries (htmx partial and full
page), the run page, and the per-run API calls (get run, set and delete a tag, one
run's series, one metric of 10 runs). The cases run round robin, `--requests` rounds;
the median and 95th percentile of each, and its SQL queries, are printed beside the
target. Bounded: a few minutes after seeding.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

LIST_CASES = [
    ("list: newest first", ""),
    ("list: tag quality:great, sort -metrics.m0", "tag=quality%3Agreat&sort=-metrics.m0"),
    ("list: filter tags.quality = 'great'", "filter=tags.quality+%3D+%27great%27&sort=-metrics.m0"),
    ("list: free text q=vit", "q=vit"),
    ("list: page 200", "page=200"),
]


def configure(url: str | None, runs: int) -> None:
    if url is None:
        path = BASE_DIR / "bench" / "results" / f"scale-{runs}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DEBUG"] = "0"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    import django

    django.setup()
    from django.conf import settings

    # Pages are rendered without collectstatic: plain static names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def ensure_seeded(runs: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.seed import seed
    from runs.models import Experiment, Membership, Role, Run, Workspace
    from runs.services.maintenance import database_optimize

    call_command("migrate", verbosity=0)
    if Workspace.objects.filter(slug="scale").exists():
        print(f"reusing {Run.objects.filter(workspace__slug='scale').count():,} runs")
        return
    User = get_user_model()
    with transaction.atomic():
        ws = Workspace.objects.create(slug="scale", name="Scale")
        user = User.objects.create_user("bench", password="bench")  # noqa: S106
        Membership.objects.create(workspace=ws, user=user, role=Role.CONTRIBUTOR)
        users = [User.objects.create_user(f"scientist{n}").pk for n in range(5)]
        experiments = [
            Experiment.objects.create(workspace=ws, name=f"experiment-{n}").pk for n in range(10)
        ]
        seconds = seed(connection, ws.pk, experiments, users, runs)
    started = time.perf_counter()
    database_optimize()
    print(
        f"seeded {Run.objects.filter(workspace=ws).count():,} runs in {seconds:.0f} s, "
        f"statistics in {time.perf_counter() - started:.1f} s"
    )


def measure(requests: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from runs import services
    from runs.models import Run, Workspace

    user = get_user_model().objects.get(username="bench")
    browser = Client()
    browser.force_login(user)
    # A workspace's token, as the tokens page and create_api_token make them.
    workspace = Workspace.objects.get(slug="scale")
    _, secret = services.token_create(user=user, name="bench", workspace=workspace)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    roots = Run.objects.filter(workspace__slug="scale", parent__isnull=True)
    oldest = roots.order_by("created", "id").values_list("id", flat=True)[:1][0]
    middle_at = roots.count() // 2
    middle = roots.order_by("created", "id").values_list("id", flat=True)[middle_at]
    ten = list(roots.order_by("-created", "-id").values_list("id", flat=True)[100:110])
    run_api = f"/api/w/scale/runs/{oldest}"
    htmx = {"HX-Request": "true"}
    cases = []  # (name, client, method, url, body, headers)
    for name, qs in LIST_CASES:
        url = f"/w/scale/runs/?{qs}" if qs else "/w/scale/runs/"
        cases.append((name + " (partial)", browser, "get", url, None, htmx))
        cases.append((name + " (full page)", browser, "get", url, None, {}))
    cases += [
        ("run page", browser, "get", f"/w/scale/runs/{middle}/", None, {}),
        ("API get run", api, "get", run_api, None, {}),
        ("API set tag", api, "patch", f"{run_api}/tags", {"set": {"note": "checked"}}, {}),
        ("API delete tag", api, "patch", f"{run_api}/tags", {"remove": ["note"]}, {}),
        ("API one run's series", api, "get", f"{run_api}/metrics/series?name=m0", None, {}),
        (
            "API series of 10 runs",
            api,
            "get",
            f"/api/w/scale/metrics/series?runs={','.join(ten)}&name=m1",
            None,
            {},
        ),
    ]

    def call(client, method, url, body, headers):
        if method == "get":
            response = client.get(url, headers=headers)
        else:
            response = client.patch(url, body, content_type="application/json", headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    for case in cases:
        for _ in range(2):  # warm caches (templates, the page cache)
            call(*case[1:])
    times: dict[str, list[float]] = {case[0]: [] for case in cases}
    for _ in range(requests):
        for name, *args in cases:
            start = time.perf_counter()
            call(*args)
            times[name].append((time.perf_counter() - start) * 1000)
    results = []
    for name, *args in cases:
        with CaptureQueriesContext(connection) as ctx:
            call(*args)
        series = sorted(times[name])
        results.append(
            {
                "case": name,
                "median": statistics.median(series),
                "p95": series[min(len(series) - 1, int(len(series) * 0.95))],
                "queries": len(ctx.captured_queries),
            }
        )
    return results


def target(case: str, vendor: str) -> str:
    if case.startswith("list") and case.endswith("(partial)"):
        return "< 50" if vendor == "postgresql" else "< 30"
    if case.startswith("API") and "10 runs" not in case:
        return "< 3"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a PostgreSQL DATABASE_URL (default: a SQLite file)")
    parser.add_argument("--runs", type=int, default=None, help="100,000 (SQLite), 1,000,000 (PG)")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    runs = args.runs or (1_000_000 if args.url else 100_000)
    configure(args.url, runs)
    from django.db import connection

    ensure_seeded(runs)
    vendor = connection.vendor
    results = measure(args.requests)
    print(f"\n{vendor}, {runs:,} runs, {args.requests} rounds\n")
    print("| case | median ms | p95 ms | target ms | queries |\n|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['median']:.2f} | {r['p95']:.2f} | {target(r['case'], vendor)} "
            f"| {r['queries']} |"
        )


if __name__ == "__main__":
    main()
