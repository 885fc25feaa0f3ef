"""PostgreSQL estimates a tag's (or property's) value together with its key.

A value that only one key takes (`quality = 'great'`) is as frequent among that key's
rows as among all of them; taken as independent, the two frequencies multiply and the
match is guessed several times too rare, and a join planned for a few rows meets a
fifth of the workspace (bench/README.md). Migration 0012's statistics keep their
combinations; ANALYZE fills them.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from runs.models import Experiment
from tests.scale.bulk import insert_runs

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps no statistics of combinations"
)

RUNS = 5000
KEYS = ("quality", "model", "batch", "lr")


def estimated_and_actual(table: str, key: str, value: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT run_id FROM {table} "  # noqa: S608 - ours
            "WHERE key = %s AND value = %s",
            [key, value],
        )
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return plan["Plan Rows"], plan["Actual Rows"]


@pytest.mark.parametrize("table", ["runs_tag", "runs_property"])
def test_a_value_of_one_key_only_is_estimated_with_its_key(workspace, table):
    insert_runs(Experiment.objects.create(workspace=workspace, name="bulk"), RUNS)
    with connection.cursor() as cursor:
        # Each key its own values; 'great' is 40% of the qualities, and of no other key.
        for n, key in enumerate(KEYS):
            cursor.execute(
                f"INSERT INTO {table} (run_id, key, value) "  # noqa: S608 - ours
                "SELECT id, %s, CASE WHEN %s = 'quality' AND abs(hashtext(id)) %% 5 < 2"
                " THEN 'great' ELSE %s || (abs(hashtext(id)) %% 7)::text END FROM runs_run",
                [key, key, f"{n}-"],
            )
        cursor.execute(f"ANALYZE {table}")
    estimated, actual = estimated_and_actual(table, "quality", "great")
    assert actual > RUNS // 4
    # Without the statistics: about a quarter of that (frequencies multiplied).
    assert actual / 1.5 < estimated < actual * 1.5, (estimated, actual)
