"""`manage.py runworker [--target NAME] [--concurrency N]`: the local worker."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.executors.local import LocalWorker


class Command(BaseCommand):
    # The system checks would import every URL, view and API schema: memory a worker that
    # only calls services does not need (`manage.py check` and the web server run them).
    requires_system_checks: list[str] = []
    help = (
        "Execute submitted runs of local compute targets (`local` and every target whose "
        "executor is local, or only those given with --target), and run the studio's "
        "periodic duties (the stale-run sweep). Stops on SIGINT/SIGTERM, stopping its scripts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target",
            action="append",
            default=[],
            metavar="NAME",
            help="a compute target to serve (repeat for several; default: every local one)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            metavar="N",
            help="top-level runs executed at once (child runs get slots beyond it; default 2)",
        )

    def handle(self, *args, target: list[str], concurrency: int, **options) -> None:
        if not 1 <= concurrency <= 256:
            raise CommandError(f"--concurrency must be 1 to 256, not {concurrency}")
        worker = LocalWorker(targets=target or None, concurrency=concurrency)

        def stop(signum: int, frame: object) -> None:
            worker.stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        self.stdout.write(f"{worker.name}: serving {', '.join(target) or 'every local target'}")
        worker.serve()
