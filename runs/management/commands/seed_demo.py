"""`manage.py seed_demo`: the demo workspace, its users and a few weeks of runs (idempotent)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from runs.management.demo import DEMO_USERNAME, DEMO_WORKSPACE, demo_seed
from runs.services.maintenance import database_optimize


class Command(BaseCommand):
    help = (
        f"Create the '{DEMO_WORKSPACE}' workspace with demo users and a few weeks of runs. "
        "Does nothing when it has runs already. The demo user's password is generated once "
        "and kept in the data directory (demo-password.txt)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database has any run at all (what `make run` uses)",
        )

    def handle(self, *args, if_empty: bool, **options) -> None:
        result = demo_seed(data_dir=Path(settings.DATA_DIR), if_empty=if_empty)
        if result.created:
            database_optimize()  # a bulk load: the planner's statistics now, not later
            self.stdout.write(
                f"Created the '{DEMO_WORKSPACE}' workspace: {result.runs} runs "
                f"in {result.experiments} experiments."
            )
        elif if_empty and not result.user_exists:
            self.stdout.write("The database has runs already: no demo data added.")
            return
        else:
            self.stdout.write(f"The '{DEMO_WORKSPACE}' workspace has its demo data already.")
        if not result.user_exists:
            return
        login = f"{settings.STUDIO_BASE_URL}{reverse('login')}"
        if result.password is not None:
            self.stdout.write(
                f"Sign in at {login} as {DEMO_USERNAME} / {result.password}\n"
                f"(the password is kept in {result.password_file})"
            )
        else:
            self.stdout.write(
                f"Sign in at {login} as {DEMO_USERNAME}. Its password is not the one in "
                f"{result.password_file}: set one with `manage.py changepassword {DEMO_USERNAME}`."
            )
