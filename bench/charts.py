"""Chart data benchmark: one metric of 10 runs x 100,000 points through series.json.

    .venv/bin/python bench/charts.py [--db PATH] [--runs 10] [--points 100000] [--requests 20]

Seeds a separate SQLite file (kept between runs of the bench: delete it to reseed)
through runs.services.metric_log_batch, then times the studio's chart endpoints
through Django's test Client: server time (median of `--requests` after 2 warm-ups),
response bytes as sent (gzip when the client accepts it, as browsers do) and
uncompressed, and the SQL queries of one request. CPU ms (this process's CPU
time) is printed beside the wall time: on a shared machine it shows what the
request costs when other processes take turns on the cores. See bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = BASE_DIR / "bench" / "results" / "charts.sqlite3"
TARGET_MS = 100
TARGET_BYTES = 200 * 1024


def configure(db_path: Path) -> None:
    """Point Django at the bench database (never the studio's own)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(runs: int, points: int) -> list[str]:
    """The workspace `charts` with `runs` runs of `points` points of `loss`, unless it exists."""
    from django.contrib.auth import get_user_model

    from runs import services
    from runs.models import Experiment, Membership, Role, Run, Workspace

    ws = Workspace.objects.filter(slug="charts").first()
    if ws is not None:
        ids = list(Run.objects.filter(workspace=ws).order_by("id").values_list("id", flat=True))
        print(f"reusing {len(ids)} runs")
        return ids
    started = time.perf_counter()
    ws = Workspace.objects.create(slug="charts", name="Charts")
    user = get_user_model().objects.create_user("bench", password="bench")  # noqa: S106
    Membership.objects.create(workspace=ws, user=user, role=Role.READER)
    exp = Experiment.objects.create(workspace=ws, name="sweep")
    rng = random.Random(7)
    ids = []
    for i in range(runs):
        run = services.run_create(
            experiment=exp,
            display_name=f"lr sweep {i}",
            properties={"lr": str(10 ** -(1 + i % 4)), "batch_size": str(32 << (i % 3))},
        )
        rate = points / (3 + i)
        values = [2.3 * math.exp(-k / rate) + 0.1 + rng.gauss(0, 0.05) for k in range(points)]
        # A few spikes and one NaN, as real training logs have.
        for k in rng.sample(range(points), 5):
            values[k] *= 10
        values[points // 2] = math.nan
        services.metric_log_batch(
            run=run,
            series=[
                services.SeriesIn(name="loss", values=values, steps=list(range(points))),
                services.SeriesIn(name="acc", values=[1 - v / 3 for v in values[::100]]),
            ],
        )
        ids.append(run.pk)
    print(f"seeded {runs} runs x {points:,} points in {time.perf_counter() - started:.1f} s")
    return sorted(ids)


def measure(ids: list[str], requests: int) -> list[dict]:
    """Median server time, bytes and queries of each case."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    runs = ",".join(ids)
    cases = [
        ("series.json, gzip", f"/w/charts/charts/series.json?runs={runs}&metric=loss", True),
        ("series.json, identity", f"/w/charts/charts/series.json?runs={runs}&metric=loss", False),
        ("values.json", f"/w/charts/charts/values.json?runs={runs}", True),
        ("compare page", f"/w/charts/compare/?runs={runs}", False),
        ("metric CSV, one run", f"/w/charts/runs/{ids[0]}/metrics/loss.csv", False),
    ]
    results = []
    for name, url, compressed in cases:
        headers = {"Accept-Encoding": "gzip"} if compressed else {}

        def get(url: str = url, headers: dict = headers) -> bytes:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            # Streaming responses are produced while they are read: read them in the timing.
            return b"".join(response.streaming_content) if response.streaming else response.content

        for _ in range(2):  # warm the page cache and Django's template loaders
            get()
        times, cpu = [], []
        for _ in range(requests):
            start, start_cpu = time.perf_counter(), time.process_time()
            body = get()
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            body = get()
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        results.append(
            {
                "case": name,
                "median_ms": statistics.median(times),
                "cpu_ms": statistics.median(cpu),
                "bytes": len(body),
                "raw_bytes": len(raw),
                "queries": len(ctx.captured_queries),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    configure(args.db)
    ids = seed(args.runs, args.points)
    results = measure(ids, args.requests)
    print(f"\n{len(ids)} runs x {args.points:,} points of one metric\n")
    print("| case | median ms | CPU ms | bytes sent | uncompressed | queries |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['median_ms']:.1f} | {r['cpu_ms']:.1f} | {r['bytes']:,} "
            f"| {r['raw_bytes']:,} | {r['queries']} |"
        )
    main_case = results[0]
    ok = main_case["median_ms"] < TARGET_MS and main_case["bytes"] < TARGET_BYTES
    print(
        f"\nseries.json target (< {TARGET_MS} ms, < {TARGET_BYTES // 1024} KB sent): "
        f"{'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
