#!/usr/bin/env python3
"""Start processes together and stop them together: what `make run` serves with.

    bin/supervise.py NAME=COMMAND [NAME=COMMAND ...]

Each command runs in its own process group. When one of them exits, or on
Ctrl-C / SIGTERM / SIGHUP, every group gets SIGTERM, then SIGKILL after a grace period.
The exit status is the first finished process's (0 after Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0


class Stop(Exception):
    """SIGINT, SIGTERM or SIGHUP arrived."""


def _say(message: str) -> None:
    sys.stderr.write(f"supervise: {message}\n")
    sys.stderr.flush()


def _parse(specs: list[str]) -> list[tuple[str, list[str]]]:
    procs = []
    for spec in specs:
        name, sep, command = spec.partition("=")
        if not sep or not name.strip() or not command.strip():
            raise SystemExit(f"supervise: expected NAME=COMMAND, got {spec!r}")
        procs.append((name.strip(), shlex.split(command)))
    return procs


def _raise_stop(signum: int, frame: object) -> None:
    raise Stop


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    # The group may outlive its leader (a server's worker child), or be gone already.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def _stop_all(running: dict[int, tuple[str, subprocess.Popen]]) -> None:
    for name, proc in running.values():
        if proc.returncode is None:
            _say(f"stopping {name} (pid {proc.pid})")
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in running.values():
        if proc.returncode is not None:
            continue
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} ignored SIGTERM for {GRACE_SECONDS:g} s: killing it")
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def main(argv: list[str]) -> int:
    """Run the processes until one exits or we are told to stop; return the exit status."""
    procs = _parse(argv)
    if not procs:
        raise SystemExit(__doc__)
    # Set explicitly: a shell without job control starts background commands
    # with SIGINT ignored, and the processes below never see the terminal's signals.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    running: dict[int, tuple[str, subprocess.Popen]] = {}
    code = 0
    try:
        for name, command in procs:
            # Own process group: a stop reaches the process's children too (the
            # development server's autoreloader runs the server in a child).
            proc = subprocess.Popen(command, start_new_session=True)  # noqa: S603 - our commands
            running[proc.pid] = (name, proc)
            _say(f"started {name} (pid {proc.pid}): {shlex.join(command)}")
        pid, status = os.wait()
        name, proc = running[pid]
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        _say(f"{name} exited with status {code}; stopping the others")
    except (KeyboardInterrupt, Stop):
        _say("stopping")
    finally:
        # Make and the terminal may signal again while we clean up: finish the job.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        _stop_all(running)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
