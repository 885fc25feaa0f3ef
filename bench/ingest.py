"""Ingest benchmark: metric points end to end, SDK -> JSON API -> SQLite, on a real server.

    .venv/bin/python bench/ingest.py [--points 1000000] [--runs 100] [--run-points 10000]
                                     [--small-runs 2000] [--clients 8]
                                     [--client-points 250000] [--log-calls 1000000]
                                     [--server gunicorn|runserver] [--float32-values]
                                     [--keep]

Makes a scratch directory (a fresh SQLite database, migrated; removed at the
end unless --keep), creates a token with `manage.py create_api_token`, starts
the studio (gunicorn with studio/gunicorn.py, 2 processes of 4 threads, or
`manage.py runserver --noreload`) with DEBUG off, then measures:

- `--small-runs` runs of 3 metrics x 100 steps one after the other, as a sweep of
  small runs is logged (create, log, complete): runs per second end to end; then the
  database's bytes per metric point (the whole SQLite file, after a checkpoint);
- `--clients` SDK clients at once, each its own process logging one run of
  `--client-points` points of 3 metrics: points per second from the first
  `log()` until every client's points are stored, each count checked (0 lost, 0
  duplicated);

- one run x `--points` points, and `--runs` runs x `--run-points` points each
  (logged interleaved, as a sweep does): points per second from the first
  `log()` until every point is stored, checked by reading the counts back
  through the API;
- the cost of one `run.log()` call over `--log-calls` calls, with the sender
  idle (it never flushes during the loop) and with it sending to the server.

See bench/README.md (Ingest) for the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from runs.sdk import Experiment, SenderOptions, Workspace  # noqa: E402
from runs.sdk.errors import StudioError  # noqa: E402

WORKSPACE = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(scratch: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{scratch / 'studio.sqlite3'}",
        "STUDIO_DATA_DIR": str(scratch),
        "DEBUG": "0",
        "SECRET_KEY": "ingest-bench-only-secret-key-not-for-production-use",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def start_server(env: dict[str, str], port: int, kind: str = "gunicorn") -> subprocess.Popen:
    if kind == "gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "studio/gunicorn.py"]
        command.append("studio.wsgi")
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": env.get("GUNICORN_WORKERS", "2"),
            "GUNICORN_THREADS": env.get("GUNICORN_THREADS", "4"),
            "GUNICORN_ACCESS_LOG": "",
        }
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    return subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_until_up(ws: Workspace, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            ws.list_experiments()
            return
        except StudioError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the studio did not start") from None
            time.sleep(0.1)


def stored_count(ws: Workspace, run_id: str, name: str) -> int:
    client = ws._client
    metrics = client.json("GET", client.ws_path(f"/runs/{run_id}/metrics"))["metrics"]
    return metrics[name]["count"] if name in metrics else 0


def one_run(ws: Workspace, points: int) -> dict:
    run = Experiment(workspace=ws, name="ingest-one").start_logging()
    log = run.log
    start = time.perf_counter()
    for i in range(points):
        log("loss", i * 1e-6)
    logged = time.perf_counter()
    run.flush()
    end = time.perf_counter()
    count = stored_count(ws, run.id, "loss")
    assert count == points, f"{count:,} of {points:,} points stored"
    run.complete()
    return {
        "points": points,
        "seconds": end - start,
        "rate": points / (end - start),
        "log_seconds": logged - start,
    }


def many_runs(ws: Workspace, runs: int, per_run: int) -> dict:
    exp = Experiment(workspace=ws, name="ingest-sweep")
    started = [exp.start_logging(f"sweep {i}") for i in range(runs)]
    logs = [r.log for r in started]
    start = time.perf_counter()
    for i in range(per_run):
        value = i * 1e-4
        for log in logs:
            log("loss", value)
    for run in started:
        run.flush()
    end = time.perf_counter()
    counts = [stored_count(ws, r.id, "loss") for r in started]
    assert counts == [per_run] * runs, f"stored counts differ: {sorted(set(counts))}"
    for run in started:
        run.complete()
    total = runs * per_run
    return {"points": total, "seconds": end - start, "rate": total / (end - start)}


SMALL_STEPS = 100


def small_runs(ws: Workspace, runs: int, float32: bool = False) -> dict:
    """`runs` runs of 3 metrics x 100 steps, one after the other: create, log, complete.

    `float32`: loss and accuracy are float32 numbers, as a framework's tensors give
    them (`loss.item()`); otherwise every value is a Python double.
    """
    exp = Experiment(workspace=ws, name="ingest-small")
    narrow = (lambda x: struct.unpack("f", struct.pack("f", x))[0]) if float32 else float
    start = time.perf_counter()
    ids = []
    for i in range(runs):
        run = exp.start_logging(f"trial {i}", properties={"lr": str(10 ** -(1 + i % 4))})
        for step in range(SMALL_STEPS):
            run.log("loss", narrow(2.0 / (step + 1) + (i % 7) * 1e-3), step=step)
            run.log("accuracy", narrow(1 - 1.0 / (step + 2)), step=step)
            run.log("lr", 0.1 * 0.98**step, step=step)
        run.complete()
        ids.append(run.id)
    seconds = time.perf_counter() - start
    for run_id in (ids[0], ids[-1]):
        for name in ("loss", "accuracy", "lr"):
            count = stored_count(ws, run_id, name)
            assert count == SMALL_STEPS, f"{run_id}/{name}: {count} of {SMALL_STEPS} stored"
    return {"runs": runs, "seconds": seconds, "rate": runs / seconds}


def database_bytes(path: Path) -> int:
    """The SQLite file's used bytes, after moving the WAL into it."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        db.close()
    return (pages - free) * page


def _client(url: str, token: str, points: int, queue) -> None:
    """One SDK client in its own process: one run of `points` points over 3 metrics."""
    ws = Workspace(url=url, token=token, name=WORKSPACE)
    run = Experiment(workspace=ws, name="ingest-clients").start_logging()
    queue.put(("ready", run.id))
    log = run.log
    per_metric = points // 3
    for step in range(per_metric):
        log("loss", 1.0 / (step + 1), step=step)
        log("accuracy", step * 1e-6, step=step)
        log("grad_norm", 0.5 + (step % 10) * 0.01, step=step)
    run.flush()
    queue.put(("done", run.id, time.time()))
    run.complete()


def concurrent_clients(url: str, token: str, ws: Workspace, clients: int, points: int) -> dict:
    """`clients` processes logging at once; every stored count checked."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start = time.time()
    processes = [
        context.Process(target=_client, args=(url, token, points, queue)) for _ in range(clients)
    ]
    for p in processes:
        p.start()
    done, run_ids = [], []
    while len(done) < clients:
        message = queue.get(timeout=600)
        if message[0] == "ready":
            run_ids.append(message[1])
        else:
            done.append(message[2])
    for p in processes:
        p.join(60)
    per_metric = points // 3
    lost = duplicated = 0
    for run_id in run_ids:
        for name in ("loss", "accuracy", "grad_norm"):
            count = stored_count(ws, run_id, name)
            lost += max(0, per_metric - count)
            duplicated += max(0, count - per_metric)
    total = clients * per_metric * 3
    seconds = max(done) - start
    return {
        "points": total,
        "seconds": seconds,
        "rate": total / seconds,
        "lost": lost,
        "duplicated": duplicated,
    }


def log_cost(ws: Workspace, calls: int, *, sending: bool) -> float:
    """Microseconds per run.log() call, over `calls` calls."""
    options = (
        ws.options
        if sending
        else SenderOptions(
            flush_interval=3600, flush_points=10 * calls, max_buffered_points=10 * calls
        )
    )
    run = Experiment(workspace=ws, name="ingest-log-cost").start_logging(options=options)
    log = run.log
    log("warm-up", 0.0)
    start = time.perf_counter()
    for _ in range(calls):
        log("loss", 0.5)
    per_call = (time.perf_counter() - start) / calls * 1e6
    run.complete()  # sends the points (not timed)
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--run-points", type=int, default=10_000)
    parser.add_argument("--small-runs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client-points", type=int, default=250_000)
    parser.add_argument("--log-calls", type=int, default=1_000_000)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument(
        "--float32-values",
        action="store_true",
        help="small runs log loss and accuracy as float32 numbers (as tensors give them)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="studio-ingest-"))
    env = server_env(scratch)
    server = None
    try:
        manage(env, "migrate", "--noinput")
        token = manage(env, "create_api_token", "bench", "--workspace", WORKSPACE)
        port = free_port()
        server = start_server(env, port, args.server)
        url = f"http://127.0.0.1:{port}"
        ws = Workspace(url=url, token=token, name=WORKSPACE)
        wait_until_up(ws, server)

        print(f"scratch: {scratch} ({args.server})")
        c = small_runs(ws, args.small_runs, args.float32_values)
        points = c["runs"] * 3 * SMALL_STEPS
        size = database_bytes(scratch / "studio.sqlite3")
        print(
            f"(c) {c['runs']:,} runs x 3 metrics x {SMALL_STEPS} steps, one client: "
            f"{c['seconds']:.1f} s, {c['rate']:.0f} runs/s, {c['rate'] * 3 * SMALL_STEPS:,.0f} "
            f"points/s end to end; database {size:,} bytes, {size / points:.1f} bytes a point"
        )
        d = concurrent_clients(url, token, ws, args.clients, args.client_points)
        print(
            f"(d) {args.clients} SDK clients x {args.client_points:,} points at once: "
            f"{d['seconds']:.2f} s, {d['rate']:,.0f} points/s end to end; "
            f"{d['lost']} lost, {d['duplicated']} duplicated"
        )
        a = one_run(ws, args.points)
        print(
            f"(a) 1 run x {a['points']:,} points: {a['seconds']:.2f} s, "
            f"{a['rate']:,.0f} points/s end to end (log loop {a['log_seconds']:.2f} s)"
        )
        b = many_runs(ws, args.runs, args.run_points)
        print(
            f"(b) {args.runs} runs x {args.run_points:,} points: {b['seconds']:.2f} s, "
            f"{b['rate']:,.0f} points/s end to end"
        )
        idle = log_cost(ws, args.log_calls, sending=False)
        busy = log_cost(ws, args.log_calls, sending=True)
        print(f"run.log(): {idle:.2f} us a call, sender idle; {busy:.2f} us with it sending")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
