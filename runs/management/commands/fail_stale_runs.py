"""`manage.py fail_stale_runs`: mark runs whose heartbeat stopped as Failed (HeartbeatLost)."""

import math
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs import services


class Command(BaseCommand):
    help = (
        "Mark Failed, with error code HeartbeatLost, every executing run whose last heartbeat "
        "is older than the timeout; prints the ids of the runs it failed, one a line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="heartbeat age that counts as lost (default: STUDIO_HEARTBEAT_TIMEOUT, "
            f"now {settings.STUDIO_HEARTBEAT_TIMEOUT:g} s)",
        )

    def handle(self, *args, timeout: float | None, **options) -> None:
        seconds = settings.STUDIO_HEARTBEAT_TIMEOUT if timeout is None else timeout
        if not (math.isfinite(seconds) and seconds > 0):
            raise CommandError(f"--timeout must be a positive number of seconds, not {seconds:g}")
        for run_id in services.runs_fail_stale(timeout=timedelta(seconds=seconds)):
            self.stdout.write(run_id)
