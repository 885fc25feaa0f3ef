"""Ingest benchmark: metric points end to end, SDK -> JSON API -> SQLite, on a real server.

    .venv/bin/python bench/ingest.py [--points 1000000] [--runs 100] [--run-points 10000]
                                     [--log-calls 1000000] [--keep]

Makes a scratch directory (a fresh SQLite database, migrated; removed at the
end unless --keep), creates a token with `manage.py create_api_token`, starts
the studio with `manage.py runserver --noreload` and DEBUG off, then measures:

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


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    parser.add_argument("--log-calls", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="studio-ingest-"))
    env = server_env(scratch)
    server = None
    try:
        manage(env, "migrate", "--noinput")
        token = manage(env, "create_api_token", "bench", "--workspace", WORKSPACE)
        port = free_port()
        server = start_server(env, port)
        ws = Workspace(url=f"http://127.0.0.1:{port}", token=token, name=WORKSPACE)
        wait_until_up(ws, server)

        print(f"scratch: {scratch}")
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
