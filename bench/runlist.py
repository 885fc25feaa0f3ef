"""Run list benchmark: server time of the studio's run list over 100,000 runs.

    .venv/bin/python bench/runlist.py [--db PATH] [--runs 100000] [--requests 20]

Seeds a separate SQLite file (kept between runs of the bench: delete it to
reseed) with runs that each have 5 tags and 3 latest metrics (m0..m2), 10% of
them children, then times the run list through Django's test Client: the full
page and the htmx partial, the median of `--requests` requests each, and the
number of SQL queries of one request; and the request for the exact total
that a page counted only up to COUNT_CAP fetches once shown. The cases are
timed round robin. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = BASE_DIR / "bench" / "results" / "runlist.sqlite3"

CASES = [
    ("newest first", ""),
    ("tag quality:great, sort -metrics.m0", "tag=quality%3Agreat&sort=-metrics.m0"),
    ("free text q=vit", "q=vit"),
    ("page 200", "page=200"),
]
# The same condition written in the filter language, measured when runs.query exists.
FILTER_CASE = (
    "filter tags.quality = 'great', sort -metrics.m0",
    "filter=tags.quality+%3D+%27great%27&sort=-metrics.m0",
)
STATUSES = [
    ("Completed", 70),
    ("Failed", 12),
    ("Canceled", 8),
    ("Running", 7),
    ("Queued", 3),
]
TAG_VALUES = {
    "quality": ["great", "good", "ok", "poor", "bad"],
    "lr": ["0.1", "0.01", "0.001"],
    "batch": ["32", "64", "128"],
    "model": ["resnet18", "resnet50", "vit-b"],
    "seed": [str(n) for n in range(10)],
}


def configure(db_path: Path) -> None:
    """Point Django at the bench database (never the studio's own)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # As in production: the cached template loader, no query log.
    os.environ["DEBUG"] = "0"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def seed(total: int, rng: random.Random) -> None:
    """Create the workspace `bench` with `total` runs, unless it exists already."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from runs.models import (
        Experiment,
        LatestMetric,
        Membership,
        Role,
        Run,
        Tag,
        Workspace,
        run_search_text,
    )

    if Workspace.objects.filter(slug="bench").exists():
        print(f"reusing {Run.objects.count():,} runs")
        return
    started = time.perf_counter()
    User = get_user_model()
    with transaction.atomic():
        ws = Workspace.objects.create(slug="bench", name="Bench")
        reader = User.objects.create_user("bench", password="bench")  # noqa: S106
        Membership.objects.create(workspace=ws, user=reader, role=Role.CONTRIBUTOR)
        users = [User.objects.create_user(f"scientist{n}") for n in range(5)]
        experiments = [
            Experiment.objects.create(workspace=ws, name=f"experiment-{n}") for n in range(10)
        ]
    n_children = total // 10
    n_roots = total - n_children
    parents_every = max(1, n_roots // (n_children // 5 or 1))
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    runs, tags, metrics = [], [], []

    def add(run_id, exp, parent_id, root_id, created, n):
        status = rng.choices(statuses, weights)[0]
        begun = created + timedelta(seconds=5) if status != "Queued" else None
        ended = None
        if status in ("Completed", "Failed", "Canceled"):
            ended = begun + timedelta(seconds=rng.randint(30, 20000))
        display_name = f"{rng.choice(TAG_VALUES['model'])} run {n}"
        submitter = rng.choice(users)
        target = rng.choice(["local", "gpu-cluster"])
        description = "Sweep over the learning rate." if n % 7 == 0 else ""
        run_tags = {key: rng.choice(values) for key, values in TAG_VALUES.items()}
        runs.append(
            Run(
                id=run_id,
                workspace=ws,
                experiment=exp,
                parent_id=parent_id,
                root_id=root_id,
                display_name=display_name,
                status=status,
                submitted_by=submitter,
                compute_target=target,
                created=created,
                started=begun,
                ended=ended,
                description=description,
                search_text=run_search_text(
                    run_id=run_id,
                    display_name=display_name,
                    description=description,
                    experiment=exp.name,
                    submitter=submitter.username,
                    tags=dict(sorted(run_tags.items())),
                ),
            )
        )
        for key, value in run_tags.items():
            tags.append(Tag(run_id=run_id, key=key, value=value))
        stamp = ended or created
        for m in range(3):
            metrics.append(
                LatestMetric(
                    run_id=run_id,
                    name=f"m{m}",
                    value=rng.random(),
                    step=rng.randint(10, 1000),
                    time=stamp,
                    count=100,
                )
            )

    def flush(force=False):
        if len(runs) < 5000 and not force:
            return
        with transaction.atomic():
            Run.objects.bulk_create(runs, batch_size=2000)
            Tag.objects.bulk_create(tags, batch_size=5000)
            LatestMetric.objects.bulk_create(metrics, batch_size=5000)
        runs.clear()
        tags.clear()
        metrics.clear()

    made_children = 0
    for i in range(n_roots):
        exp = experiments[i % len(experiments)]
        created = t0 + timedelta(seconds=300 * i)
        root_id = f"{exp.name}_{int(created.timestamp())}_{i:08x}"
        add(root_id, exp, None, root_id, created, i)
        if i % parents_every == 0 and made_children < n_children:
            for k in range(1, 6):
                if made_children >= n_children:
                    break
                add(f"{root_id}_{k}", exp, root_id, root_id, created + timedelta(seconds=k), i)
                made_children += 1
        flush()
    flush(force=True)
    print(f"seeded {Run.objects.count():,} runs in {time.perf_counter() - started:.1f} s")


def measure(requests: int) -> list[dict]:
    """Median server time and query count of each case, full page and htmx partial."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    results = []
    cases = list(CASES)
    try:
        import runs.query  # noqa: F401
    except ImportError:
        print("runs.query is missing: the filter-language case is skipped")
    else:
        cases.insert(2, FILTER_CASE)
    runs = []  # (name, mode, url, headers)
    for name, qs in cases:
        url = f"/w/bench/runs/?{qs}" if qs else "/w/bench/runs/"
        count_url = f"/w/bench/runs/count/?{qs}"
        for mode, where, headers in (
            ("full", url, {}),
            ("partial", url, {"HX-Request": "true"}),
            # The exact total, which a page past COUNT_CAP fetches once shown.
            ("count", count_url, {"HX-Request": "true"}),
        ):
            for _ in range(2):  # warm the page cache and Django's template loaders
                response = client.get(where, headers=headers)
                assert response.status_code == 200, (where, response.status_code)
            runs.append((name, mode, where, headers))
    # Round robin over the cases, so that a slow spell of the machine (it has two
    # cores and other services) falls on every case alike rather than on one.
    times: dict[tuple[str, str], list[float]] = {(n, m): [] for n, m, _, _ in runs}
    for _ in range(requests):
        for name, mode, url, headers in runs:
            start = time.perf_counter()
            client.get(url, headers=headers)
            times[name, mode].append((time.perf_counter() - start) * 1000)
    for name, mode, url, headers in runs:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, headers=headers)
        results.append(
            {
                "case": name,
                "mode": mode,
                "median_ms": statistics.median(times[name, mode]),
                "queries": len(ctx.captured_queries),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    configure(args.db.resolve())
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seed(args.runs, random.Random(42))
    print("| case | page | median ms | queries |\n|---|---|---:|---:|")
    for row in measure(args.requests):
        print(f"| {row['case']} | {row['mode']} | {row['median_ms']:.1f} | {row['queries']} |")


if __name__ == "__main__":
    main()
