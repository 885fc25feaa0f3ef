"""Many runs inserted by one SQL statement per table (a 100,000-run workspace in seconds)."""

from __future__ import annotations

from django.db import connection

from runs.models import Experiment


def _numbers(n: int) -> tuple[str, str]:
    """A `WITH` clause and a FROM source yielding i = 1..n, in this database's dialect."""
    if connection.vendor == "postgresql":
        return "", f"generate_series(1, {int(n)}) AS c(i)"
    return (
        f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {int(n)}) ",
        "c",
    )


def _created(i: str) -> str:
    if connection.vendor == "postgresql":
        return f"TIMESTAMP WITH TIME ZONE '2025-01-01 00:00:00+00' + {i} * INTERVAL '1 second'"
    return f"strftime('%Y-%m-%d %H:%M:%f', '2025-01-01', '+' || {i} || ' seconds')"


def _text(expr: str) -> str:
    return f"CAST({expr} AS TEXT)" if connection.vendor == "postgresql" else f"({expr})"


def insert_runs(experiment: Experiment, n: int, *, prefix: str = "bulk") -> None:
    """`n` Running top-level runs `<prefix>_<i>` of `experiment`, each with a tag
    `seed=<i % 10>` and a latest value of `loss` (ids sort as their numbers do not:
    the runs are spread over the primary key's index)."""
    with_, source = _numbers(n)
    run_id = f"'{prefix}_' || {_text('i')}"
    created = _created("i")
    with connection.cursor() as cursor:
        cursor.execute(
            f"{with_}INSERT INTO runs_run (id, workspace_id, experiment_id, parent_id, root_id,"
            " child_counter, display_name, status, submitted_by_id, compute_target, created,"
            " started, ended, heartbeat, description, description_html, error_code,"
            " error_message, error_details, script, arguments, worker, search_text)"
            f" SELECT {run_id}, %s, %s, NULL, {run_id}, 0, '', 'Running', NULL, 'local',"
            f" {created}, {created}, NULL, {created}, '', '', '', '', NULL, '', '[]', '', {run_id}"
            f" FROM {source}",
            [experiment.workspace_id, experiment.pk],
        )
        cursor.execute(
            f"{with_}INSERT INTO runs_tag (run_id, key, value)"
            f" SELECT {run_id}, 'seed', {_text('i % 10')} FROM {source}"
        )
        cursor.execute(
            f"{with_}INSERT INTO runs_latestmetric (run_id, name, value, step, time, count)"
            f" SELECT {run_id}, 'loss', 1.0 / i, 9, {created}, 10 FROM {source}"
        )
