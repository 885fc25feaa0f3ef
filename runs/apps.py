from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Run history"

    def ready(self) -> None:
        from runs.services import maintenance

        connection_created.connect(maintenance.optimize_when_due, dispatch_uid="runs-optimize")
        connection_created.connect(maintenance.planner_settings, dispatch_uid="runs-planner")
        post_migrate.connect(
            maintenance.optimize_after_migrate, sender=self, dispatch_uid="runs-analyze"
        )
