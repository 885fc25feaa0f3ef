"""Submitted runs benchmark: a real studio and a real `runworker`, SQLite.

    .venv/bin/python bench/submit.py [--repeat 20] [--keep]

Makes a scratch directory (a fresh SQLite database; removed at the end unless
--keep), starts `manage.py runserver --noreload` (DEBUG off) and `manage.py
runworker`, then measures, `--repeat` times each, median and worst:

- submit -> first line: from `exp.submit()` (snapshot, upload, Queued) to the
  first line of the script running (it writes the time to a file);
- cancel -> process gone: from `run.cancel()` (a colleague's, through the API) on
  a running script to the moment its process no longer exists (the worker
  noticed, SIGTERM to the group, reaped);
- the worker's resident memory at rest, after start and after the runs.

See bench/README.md (Submitted runs) for the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from ingest import free_port, manage, server_env, start_server, wait_until_up  # noqa: E402

from runs.sdk import Experiment, ScriptRunConfig, Workspace  # noqa: E402

WORKSPACE = "bench"
FIRST_LINE = "import sys, time; open(sys.argv[1], 'w').write(repr(time.time()))\n"
LOOP = (
    "import os, sys, time\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "while True:\n"
    "    print('tick', flush=True)\n"
    "    time.sleep(0.05)\n"
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {path}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def submit_latency(exp: Experiment, src: Path, marks: Path, n: int) -> list[float]:
    out = []
    for i in range(n):
        mark = marks / f"first-{i}"
        config = ScriptRunConfig(source_directory=src, script="first.py", arguments=[str(mark)])
        start = time.time()
        run = exp.submit(config)
        out.append(float(wait_for(mark)) - start)
        run.wait_for_completion(poll_interval=0.05)
    return out


def cancel_latency(exp: Experiment, colleague: Workspace, src: Path, marks: Path, n: int):
    out = []
    for i in range(n):
        mark = marks / f"loop-{i}"
        run = exp.submit(
            ScriptRunConfig(source_directory=src, script="loop.py", arguments=[str(mark)])
        )
        pid = int(wait_for(mark))
        start = time.perf_counter()
        colleague.get_run(run.id).cancel()
        while alive(pid):
            time.sleep(0.002)
        out.append(time.perf_counter() - start)
        assert run.wait_for_completion(raise_on_error=False)["status"] == "Canceled"
    return out


def show(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(
        f"{label}: median {statistics.median(ms):.0f} ms, best {ms[0]:.0f} ms, "
        f"worst {ms[-1]:.0f} ms ({len(ms)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="studio-submit-"))
    src, marks = scratch / "src", scratch / "marks"
    src.mkdir()
    marks.mkdir()
    (src / "first.py").write_text(FIRST_LINE)
    (src / "loop.py").write_text(LOOP)
    port = free_port()
    env = {**server_env(scratch), "STUDIO_BASE_URL": f"http://127.0.0.1:{port}"}
    server = worker = None
    try:
        manage(env, "migrate", "--noinput")
        token = manage(env, "create_api_token", "bench", "--workspace", WORKSPACE)
        other = manage(env, "create_api_token", "colleague", "--workspace", WORKSPACE)
        server = start_server(env, port)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "runworker"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        ws = Workspace(url=url, token=token, name=WORKSPACE)
        wait_until_up(ws, server)
        time.sleep(2)  # the worker settles: imports done, first sweep run
        print(f"scratch: {scratch}")
        print(f"worker RSS at rest, after start: {rss_mb(worker.pid):.1f} MB")
        exp = Experiment(workspace=ws, name="bench-submit")
        show("submit -> first line", submit_latency(exp, src, marks, args.repeat))
        colleague = Workspace(url=url, token=other, name=WORKSPACE)
        show("cancel -> process gone", cancel_latency(exp, colleague, src, marks, args.repeat))
        time.sleep(2)
        print(f"worker RSS at rest, after {2 * args.repeat} runs: {rss_mb(worker.pid):.1f} MB")
    finally:
        for proc in (worker, server):
            if proc is not None:
                proc.terminate()
                proc.wait(15)
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
