"""Per-run paths read the run through its primary key, whatever the workspace's size.

100,000 runs are inserted in bulk, the planner's statistics refreshed (as migrations,
bulk loads and the connection lifecycle do), and every SQL statement of each per-run
API call is explained: the runs table must be searched by id, and no large table
scanned.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client

from runs import services
from runs.models import Experiment
from runs.services.maintenance import database_optimize
from tests.conftest import ApiClient
from tests.scale.bulk import insert_runs

RUNS = 100_000
# The tables the test fills (a scan of an almost empty one is the right plan).
BIG_TABLES = ("runs_run", "runs_tag", "runs_latestmetric")
# The run's own row: the primary key's index, or the covering (id, workspace, ...) one.
SQLITE_BY_ID = re.compile(
    r"^SEARCH runs_run USING (COVERING )?INDEX (sqlite_autoindex_runs_run_1|run_id_tree) \(id=\?"
)


class Recorder:
    """Every statement a block sends, with its parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)


def _sqlite_plan(sql: str, params: tuple) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [row[3] for row in cursor.fetchall()]


def _pg_nodes(sql: str, params: tuple) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, todo = [], [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def _problems(sql: str, params: tuple, *, by_id: bool) -> list[str]:
    """What is wrong with the statement's plan: a scan of a big table, or (by_id) the
    runs table read other than through its id."""
    found = []
    if connection.vendor == "sqlite":
        for line in _sqlite_plan(sql, params):
            table = line.split()[1] if len(line.split()) > 1 else ""
            scan = line.startswith("SCAN ") and table in BIG_TABLES
            if scan or (by_id and table == "runs_run" and not SQLITE_BY_ID.match(line)):
                found.append(line)
        return found
    for node in _pg_nodes(sql, params):
        table, kind = node.get("Relation Name", ""), node["Node Type"]
        if kind == "Seq Scan" and table in BIG_TABLES:
            found.append(f"Seq Scan on {table}")
        elif by_id and table == "runs_run" and kind.endswith("Scan"):
            # A bitmap heap scan reads what its bitmap index scan (the child) found.
            index = node.get("Index Name") or node.get("Plans", [{}])[0].get("Index Name", "")
            if not (index.endswith("_pkey") or index == "run_id_tree"):
                found.append(f"{kind} on runs_run using {index or '-'}")
    return found


def _forget_statistics() -> None:
    """SQLite as it was before anything ran ANALYZE: plans chosen by the indexes' shapes."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.execute("ANALYZE sqlite_schema")  # reloads the (now empty) statistics


@pytest.fixture(params=["statistics", "no statistics"])
def big_workspace(request, api_client, workspace):
    experiment = Experiment.objects.create(workspace=workspace, name="bulk")
    insert_runs(experiment, RUNS)
    database_optimize()
    if request.param == "no statistics":
        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL always has statistics (autovacuum)")
        _forget_statistics()
    return workspace


@pytest.fixture(params=["workspace token", "token of every workspace"])
def token_client(request, api_client, api_user, big_workspace):
    """A workspace's token (its membership read with it) or one made before tokens had one."""
    if request.param == "token of every workspace":
        return api_client
    _, secret = services.token_create(user=api_user, name="laptop", workspace=big_workspace)
    return ApiClient(secret, api_user)


def test_per_run_api_calls_read_the_run_by_its_key_at_100k_runs(token_client, big_workspace):
    api_client = token_client
    run = f"/api/w/{big_workspace.slug}/runs/bulk_{RUNS // 3}"
    calls = [
        ("get run", "get", "", None),
        ("set tag", "patch", "/tags", {"set": {"quality": "great"}}),
        ("delete tag", "patch", "/tags", {"remove": ["quality"]}),
        ("log", "post", "/metrics", {"series": [{"name": "acc", "values": [0.5, 0.6]}]}),
        ("latest metrics", "get", "/metrics", None),
        ("series", "get", "/metrics/series?name=acc", None),
        ("heartbeat", "post", "/heartbeat", {}),
        ("properties", "post", "/properties", {"properties": {"lr": "0.1"}}),
        ("rename", "patch", "", {"displayName": "renamed"}),
        ("complete", "post", "/complete", {}),
    ]
    problems = {}
    for label, method, suffix, body in calls:
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            if method == "get":
                response = api_client.get(run + suffix)
            else:
                response = getattr(api_client, f"{method}_json")(run + suffix, body)
        assert response.status_code == 200, (label, response.content)
        statements = [
            (sql, params)
            for sql, params in recorder.statements
            if "runs_" in sql and not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))
        ]
        assert statements, label
        for sql, params in statements:
            by_id = '"runs_run"' in sql.split(" WHERE ", 1)[-1] or sql.startswith(
                ('SELECT "runs_run"', 'UPDATE "runs_run"')
            )
            wrong = _problems(sql, params, by_id=by_id)
            if wrong:
                problems.setdefault(label, []).append((sql[:200], wrong))
    assert not problems, problems


def test_run_detail_page_scans_no_large_table_at_100k_runs(big_workspace, api_user):
    client = Client()
    client.force_login(api_user)
    url = f"/w/{big_workspace.slug}/runs/bulk_{RUNS // 2}/"
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        response = client.get(url)
    assert response.status_code == 200
    problems = [
        (sql[:200], wrong)
        for sql, params in recorder.statements
        if "runs_" in sql and sql.lstrip().upper().startswith("SELECT")
        for wrong in [_problems(sql, params, by_id=False)]
        if wrong
    ]
    assert not problems, problems
