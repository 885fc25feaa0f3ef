"""`manage.py send_notifications [--loop]`: deliver the alert notifications that are due."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from runs.notifications.sender import notifications_tick

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send the alert notifications that are due (email and webhooks), after scanning "
        "running runs for the rules that watch how long they run or when they last "
        "heartbeat. Once, or every --interval seconds with --loop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep sending until stopped")
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="seconds between rounds with --loop (default 2)",
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        if not 0.1 <= interval <= 3600:
            raise CommandError(f"--interval must be 0.1 to 3600 seconds, not {interval:g}")
        if not loop:
            self.stdout.write(str(notifications_tick()))
            return
        try:
            while True:
                close_old_connections()
                try:
                    report = notifications_tick()
                except Exception:  # the database away for a moment: try again next round
                    logger.exception("sending notifications failed")
                else:
                    if report.sent or report.retrying or report.failed:
                        self.stdout.write(str(report))
                time.sleep(interval)
        except KeyboardInterrupt:
            return
