"""Load test: 50 browser-like sessions browse the studio while 8 SDK clients ingest.

    .venv/bin/python bench/load.py [--runs 20000] [--sessions 50] [--clients 8]
                                   [--seconds 60] [--workers 2] [--threads 4] [--step-ms 0]

Loopback only, bounded in time. Seeds `bench/results/load-<runs>.sqlite3` once (bench/
seed.py; kept between runs), collects the static files, and starts the production
stack: gunicorn (studio/gunicorn.py, `--workers` processes of `--threads` threads),
DEBUG off, WhiteNoise. The sessions sign in first (each its own cookie; a password
hash each, timed and printed apart). Then, for `--seconds`:

- `--sessions` sessions browse like people do, a page every 0.2-1.0 s: the run list
  (the five queries of bench/runlist.py, a few pages deep), its htmx partial with
  another sort, the exact total, a run's page, its chart data, the compare chart data
  of five runs (runs of the seeded experiments, with their metrics);
- `--clients` SDK processes log runs of 3 metrics x 100 steps one after another: as
  fast as the studio takes them (the default: the server saturated), or with a
  training step of `--step-ms` between steps, as a sweep of short trials does.

Printed: requests a second, p50/p95/p99 latency and errors of the browsing, the
runs and points the SDK clients stored (their last runs' counts checked), the
largest resident memory of a web process (VmRSS, sampled every second), and the CPU
seconds the web processes, the SDK clients and the browsing sessions used in the
window (all share the machine's cores). gunicorn's log goes to
bench/results/load-gunicorn.log.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

LISTS = [
    "",
    "tag=quality%3Agreat&sort=-metrics.m0",
    "filter=tags.quality+%3D+%27great%27&sort=-metrics.m0",
    "q=vit",
    "status=Failed",
]
SORTS = ["-created", "status", "-metrics.m1", "duration", "name"]


def environment(db: Path, static: Path, port: int, workers: int, threads: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "STUDIO_DATA_DIR": str(db.parent / "load-data"),
        "STATIC_ROOT": str(static),
        "DEBUG": "0",
        "SECRET_KEY": "load-bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_ACCESS_LOG": "",
    }


def prepare(env: dict, runs: int) -> str:
    """Migrate, seed (once), collect static files; returns an API token."""

    def manage(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from django.contrib.auth import get_user_model;"
        "from django.db import connection, transaction;"
        "from runs.models import Experiment, Membership, Role, Workspace;"
        "from runs.services.maintenance import database_optimize;"
        "from bench.seed import seed\n"
        "if not Workspace.objects.filter(slug='scale').exists():\n"
        "    User = get_user_model()\n"
        "    with transaction.atomic():\n"
        "        ws = Workspace.objects.create(slug='scale', name='Scale')\n"
        "        user = User.objects.create_user('bench', password='bench')\n"
        "        Membership.objects.create(workspace=ws, user=user, role=Role.CONTRIBUTOR)\n"
        "        users = [User.objects.create_user(f'scientist{n}').pk for n in range(5)]\n"
        "        exps = [Experiment.objects.create(workspace=ws, name=f'experiment-{n}').pk"
        " for n in range(10)]\n"
        f"        print('seeded in', round(seed(connection, ws.pk, exps, users, {runs})), 's')\n"
        "    database_optimize()\n"
    )
    print(manage("shell", "--no-imports", "-c", code) or "reusing the seeded database")
    return manage("create_api_token", "bench", "--workspace", "scale", "--name", "load")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.opened = time.monotonic()

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_kind.setdefault(kind, []).append(seconds)
            if error:
                # When, in the window: a kept-alive connection closed as it was reused
                # (idle since the sign-ins) shows in the first seconds.
                self.errors.append(f"at {time.monotonic() - self.opened:.1f} s, {error}")


def sign_in(base: str) -> requests.Session:
    """A person's browser signed in (its session cookie)."""
    http = requests.Session()
    page = http.get(f"{base}/accounts/login/", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = http.post(
        f"{base}/accounts/login/",
        data={"username": "bench", "password": "bench", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=60,
    )
    # Signed in, or every page after would be the sign-in page, answered 200.
    if answer.status_code != 200 or "/accounts/login/" in answer.url:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.url}")
    # Its connection would sit idle until every session has signed in, longer than the
    # server keeps it alive: reused just as the server closes it, the first page would
    # meet a reset (a browser retries such a request; this client would count an error).
    http.close()
    return http


def session(
    http: requests.Session, base: str, run_ids: list[str], deadline: float, stats: Stats, seed: int
) -> None:
    """One person in a browser, signed in: a page every 0.2-1.0 s until the deadline."""
    rng = random.Random(seed)
    htmx = {"HX-Request": "true"}
    # People do not all click at the same instant: each session starts with a pause too.
    time.sleep(rng.uniform(0.2, 1.0))
    while time.monotonic() < deadline:
        query = rng.choice(LISTS)
        run = rng.choice(run_ids)
        choice = rng.random()
        if choice < 0.35:
            kind, headers = "run list", {}
            url = f"{base}/w/scale/runs/?{query}&page={rng.randint(1, 5)}"
        elif choice < 0.55:
            kind, headers = "list partial, sorted", htmx
            url = f"{base}/w/scale/runs/?{query}&sort={rng.choice(SORTS)}"
        elif choice < 0.62:
            kind, headers = "exact total", htmx
            url = f"{base}/w/scale/runs/count/?{query}"
        elif choice < 0.85:
            kind, headers = "run page", {}
            url = f"{base}/w/scale/runs/{run}/"
        elif choice < 0.93:
            kind, headers = "run chart data", {}
            url = f"{base}/w/scale/runs/{run}/metrics.json?name=m0&name=m1&name=m2"
        else:
            kind, headers = "compare chart data", {}
            five = ",".join(rng.sample(run_ids, 5))
            url = f"{base}/w/scale/charts/series.json?runs={five}&metric=m0"
        start = time.perf_counter()
        error = None
        try:
            response = http.get(url, headers=headers, timeout=30)
            if response.status_code != 200:
                error = f"{response.status_code} {url}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__} {url}: {exc}"
        stats.add(kind, time.perf_counter() - start, error)
        time.sleep(rng.uniform(0.2, 1.0))


def ingest_client(url: str, token: str, seconds: float, step_ms: float, out) -> None:
    """An SDK process: small runs (3 metrics x 100 steps), one after another, a training
    step taking `step_ms` (0: as fast as the studio takes them)."""
    from runs.sdk import Experiment, Workspace

    ws = Workspace(url=url, token=token, name="scale")
    exp = Experiment(workspace=ws, name="load-ingest")
    deadline = time.monotonic() + seconds
    runs = 0
    last = None
    pace = threading.Event()
    while time.monotonic() < deadline:
        run = exp.start_logging()
        for step in range(100):
            if step_ms:
                pace.wait(step_ms / 1000)  # the training step's work
            run.log("loss", 1.0 / (step + 1), step=step)
            run.log("accuracy", step / 100, step=step)
            run.log("lr", 0.1, step=step)
        run.complete()
        runs += 1
        last = run.id
    client = ws._client
    metrics = client.json("GET", client.ws_path(f"/runs/{last}/metrics"))["metrics"]
    out.put((runs, {name: m["count"] for name, m in metrics.items()}))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--step-ms",
        type=float,
        default=0,
        help="each SDK client's training step, in ms (0: log as fast as the studio takes it)",
    )
    args = parser.parse_args()

    import multiprocessing
    import socket

    db = BASE_DIR / "bench" / "results" / f"load-{args.runs}.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = environment(db, db.parent / "load-static", port, args.workers, args.threads)
    token = prepare(env, args.runs)
    base = f"http://127.0.0.1:{port}"
    # gunicorn's own log (worker restarts, timeouts), for when a request fails.
    server_log = db.parent / "load-gunicorn.log"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "studio/gunicorn.py", "studio.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(log_file := server_log.open("w")),
    )
    try:
        for _ in range(600):
            try:
                requests.get(f"{base}/accounts/login/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        # Runs of the seeded experiments (with metrics m0-m2), not those an earlier
        # load test's SDK clients logged (the newest, with other metrics).
        run_ids = [
            r["runId"]
            for n in range(5)
            for r in api.get(
                f"{base}/api/w/scale/runs?experiment=experiment-{n}&perPage=100", timeout=60
            ).json()["runs"]
        ]

        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        clients = [
            context.Process(
                target=ingest_client, args=(base, token, args.seconds, args.step_ms, results)
            )
            for _ in range(args.clients)
        ]
        # Everyone signs in first (a password hash each: ~0.3-0.7 s of CPU here), then
        # the window opens: the browsing is measured, not a storm of sign-ins.
        signing_in = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            browsers = list(pool.map(lambda _: sign_in(base), range(args.sessions)))
        signed_in = time.monotonic() - signing_in
        stats = Stats()
        deadline = time.monotonic() + args.seconds
        sessions = [
            threading.Thread(
                target=session, args=(http, base, run_ids, deadline, stats, n), daemon=True
            )
            for n, http in enumerate(browsers)
        ]
        started = stats.opened = time.monotonic()
        cpu_before = {"web": web_cpu(server.pid), "load": _own_cpu()}
        for p in clients:
            p.start()
        for t in sessions:
            t.start()
        peak: dict[int, float] = {}
        while time.monotonic() < deadline:
            for pid in [server.pid, *_children(server.pid)]:
                peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
            time.sleep(1)
        # The window's CPU: who used the machine's cores (the SDK clients still run).
        cpu = {
            "web": web_cpu(server.pid) - cpu_before["web"],
            "SDK clients": cpu_seconds([p.pid for p in clients]),
            "browsing sessions (this process)": _own_cpu() - cpu_before["load"],
        }
        window = time.monotonic() - started
        for t in sessions:
            t.join(60)
        elapsed = time.monotonic() - started
        ingested = [results.get(timeout=120) for _ in clients]
        for p in clients:
            p.join(30)
    finally:
        server.terminate()
        server.wait(30)
        log_file.close()

    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000

    runs_done = sum(r for r, _ in ingested)
    counts_ok = all(c == {"loss": 100, "accuracy": 100, "lr": 100} for _, c in ingested)
    workers = {pid: mb for pid, mb in peak.items() if pid != server.pid}
    pace = f"a step every {args.step_ms:g} ms" if args.step_ms else "flat out"
    print(
        f"\n{args.sessions} sessions + {args.clients} SDK clients ({pace}), {elapsed:.0f} s, "
        f"gunicorn {args.workers} x {args.threads} threads, {args.runs:,} runs seeded\n"
    )
    print(f"sign-in of the {args.sessions} sessions, before the window: {signed_in:.1f} s")
    print(f"browsing: {len(lat):,} requests, {len(lat) / elapsed:.1f} a second")
    print(
        f"latency: p50 {pct(0.50):.0f} ms, p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms, "
        f"median {statistics.median(lat) * 1000:.0f} ms"
    )
    for kind, seconds in sorted(stats.by_kind.items()):
        seconds = sorted(seconds)
        p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))] * 1000
        print(
            f"  {kind}: {len(seconds):,}, p50 {statistics.median(seconds) * 1000:.0f} ms, "
            f"p99 {p99:.0f} ms"
        )
    print(f"errors: {len(stats.errors)}")
    for error in stats.errors[:5]:
        print(f"  {error}")
    if stats.errors:
        print(f"  gunicorn's log: {server_log}")
    print(
        f"ingest: {runs_done:,} runs, {runs_done * 300:,} points "
        f"({runs_done / elapsed:.1f} runs/s); last runs' counts "
        f"{'all 3 x 100' if counts_ok else 'WRONG: ' + repr(ingested)}"
    )
    print(
        f"web RSS: largest worker {max(workers.values(), default=0):.0f} MB, "
        f"master {peak.get(server.pid, 0):.0f} MB"
    )
    cores = os.cpu_count() or 1
    print(
        f"CPU in the window ({cores} cores x {window:.0f} s = {cores * window:.0f} s): "
        + ", ".join(f"{who} {seconds:.1f} s" for who, seconds in cpu.items())
    )


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc); `reaped`:
    with those of their children that have ended."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime (16 and 17)
    return total / os.sysconf("SC_CLK_TCK")


def web_cpu(master: int) -> float:
    """The web processes' CPU seconds so far: gunicorn's master with the workers it has
    replaced (after GUNICORN_MAX_REQUESTS requests; their time is the master's once it
    reaps them), and the workers alive now."""
    return cpu_seconds([master], reaped=True) + cpu_seconds(_children(master))


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


if __name__ == "__main__":
    main()
