"""PostgreSQL connections plan without parallel workers unless DATABASE_PARALLEL_WORKERS
says otherwise (runs.services.maintenance.planner_settings)."""

import pytest
from django.db import connection

from runs.services import maintenance

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL planner setting"
)


def workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


def test_connections_plan_without_parallel_workers(db):
    assert workers() == "0"


def test_the_setting_gives_the_number_of_workers(db, settings):
    # The test's transaction undoes the SET when it rolls back.
    settings.DATABASE_PARALLEL_WORKERS = 1
    maintenance.planner_settings(sender=None, connection=connection)
    assert workers() == "1"


def test_a_negative_setting_leaves_the_server_default(db, settings, django_assert_num_queries):
    settings.DATABASE_PARALLEL_WORKERS = -1
    with django_assert_num_queries(0):
        maintenance.planner_settings(sender=None, connection=connection)
