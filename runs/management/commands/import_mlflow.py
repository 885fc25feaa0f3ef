"""`manage.py import_mlflow SOURCE --workspace NAME`: MLflow's runs moved over in one command."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.exceptions import StudioError
from runs.importers.mlflow import MlflowSourceError, open_source
from runs.models import Workspace
from runs.services.imports import mlflow_import
from runs.services.maintenance import database_optimize


class Command(BaseCommand):
    help = (
        "Import the experiments and runs of an MLflow tracking server (http(s)://host:port), "
        "an mlruns folder (the file store) or an MLflow SQLite database (a path, or "
        "sqlite:///path) into a workspace: params become properties, tags stay tags, metrics "
        "keep their steps and times, mlflow.parentRunId makes children. Runs imported before "
        "(their MLflow id is the property mlflow.runId) are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="tracking server URL, mlruns folder or SQLite file")
        parser.add_argument("--workspace", required=True, help="workspace name (slug)")
        parser.add_argument(
            "--user", help="the submitter of the imported runs (default: none)", default=None
        )
        parser.add_argument(
            "--experiment",
            action="append",
            default=None,
            help="import only this MLflow experiment (by name; may repeat)",
        )
        parser.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")

    def handle(self, *args, source: str, workspace: str, user, experiment, timeout, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"no workspace {workspace!r}")
        submitter = None
        if user:
            submitter = get_user_model().objects.filter(username=user).first()
            if submitter is None:
                raise CommandError(f"no user {user!r}")
        verbose = options["verbosity"] > 1
        try:
            result = mlflow_import(
                workspace=ws,
                user=submitter,
                runs=open_source(source, timeout=timeout),
                experiments=set(experiment) if experiment else None,
                progress=self.stdout.write if verbose else None,
            )
        except MlflowSourceError as exc:
            raise CommandError(str(exc)) from None
        except StudioError as exc:
            raise CommandError(exc.message) from None
        if result.runs:
            database_optimize()  # a bulk load: the planner's statistics now, not later
        self.stdout.write(
            f"imported {result.runs:,} runs ({result.points:,} metric points) into "
            f"{', '.join(sorted(result.experiments)) or 'no experiment'}; "
            f"{result.skipped:,} imported before"
        )
