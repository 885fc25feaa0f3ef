"""PostgreSQL prepares the statements a connection runs again and again (studio.settings:
server-side binding, prepare_threshold): the per-request reads are planned once."""

import pytest
from django.db import connection

from runs import selectors
from tests.factories import RunFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"
)


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_read_run_again_and_again_is_prepared():
    run = RunFactory()
    for _ in range(6):
        found = selectors.run_get(workspace=run.workspace, run_id=run.pk)
    assert found.pk == run.pk
    assert [s for s in prepared() if '"r"."root_id"' in s and "$1" in s]


@pytest.mark.django_db
def test_a_statement_run_once_is_not():
    run = RunFactory()
    selectors.run_with_tags(workspace=run.workspace, run_id=run.pk)
    assert not [s for s in prepared() if '"t"."key"' in s]
