"""Bulk seeding for the scale and load benchmarks: a workspace of N runs written by a
few INSERT ... SELECT statements (SQLite or PostgreSQL), not one ORM call a row.

Shape (as bench/runlist.py's): 10 experiments; 90% top-level runs, every 45th of
them a parent of 5 children (10% children); 5 tags a run (quality, lr, batch, model,
seed); 3 metrics m0..m2 of 10 steps each (3 MetricChunk rows in the compact format,
3 LatestMetric rows); statuses 70% Completed, 12% Failed, 8% Canceled, 7% Running,
3% Queued. Values are derived from the run's number, so every seeding is the same.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np

POOL = 997  # distinct metric chunks, assigned round robin
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TAGS = {
    "quality": ["great", "good", "ok", "poor", "bad"],
    "lr": ["0.1", "0.01", "0.001"],
    "batch": ["32", "64", "128"],
    "model": ["resnet18", "resnet50", "vit-b"],
    "seed": [str(n) for n in range(10)],
}
# run number i -> the tag's value index (co-prime multipliers spread the values).
TAG_PICK = {"quality": (13, 5), "lr": (1, 3), "batch": (7, 3), "model": (11, 3), "seed": (1, 10)}


class Dialect:
    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"

    def numbers(self, n: int) -> tuple[str, str]:
        if self.pg:
            return "", f"generate_series(1, {int(n)}) AS c(i)"
        return (
            f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {int(n)}) ",
            "c",
        )

    def hex8(self, expr: str) -> str:
        return f"lpad(to_hex({expr}), 8, '0')" if self.pg else f"printf('%08x', {expr})"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def seconds_after_t0(self, expr: str) -> str:
        if self.pg:
            return f"(TIMESTAMPTZ '2025-01-01 00:00:00+00' + ({expr}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f', '2025-01-01', '+' || ({expr}) || ' seconds')"

    def pick(self, values: list[str], expr: str) -> str:
        whens = " ".join(f"WHEN {k} THEN '{v}'" for k, v in enumerate(values))
        return f"(CASE ({expr}) % {len(values)} {whens} END)"

    def pick_number(self, values: list[int], expr: str) -> str:
        whens = " ".join(f"WHEN {k} THEN {int(v)}" for k, v in enumerate(values))
        return f"(CASE ({expr}) % {len(values)} {whens} END)"

    def blob(self, data: bytes) -> str:
        return f"'\\x{data.hex()}'::bytea" if self.pg else f"X'{data.hex()}'"


def seed(connection, workspace_id: int, experiment_ids: list[int], user_ids: list[int], runs: int):
    """`runs` runs in the workspace (experiments and users made by the caller)."""
    from runs import metrics_codec as codec

    d = Dialect(connection.vendor)
    started = time.perf_counter()
    roots = runs - runs // 10
    with_, source = d.numbers(roots)
    exp_case = d.pick_number(experiment_ids, "i")
    user_case = d.pick_number(user_ids, "i * 3")
    exp_name = d.pick([f"experiment-{k}" for k in range(len(experiment_ids))], "i")
    user_name = d.pick([f"scientist{k}" for k in range(len(user_ids))], "i * 3")
    model = d.pick(TAGS["model"], "i * 11")
    status = (
        "(CASE WHEN i % 100 < 70 THEN 'Completed' WHEN i % 100 < 82 THEN 'Failed'"
        " WHEN i % 100 < 90 THEN 'Canceled' WHEN i % 100 < 97 THEN 'Running' ELSE 'Queued' END)"
    )
    tag_text = " || ".join(
        f"'\n{key}\n' || {d.pick(values, f'i * {TAG_PICK[key][0]}')}"
        for key, values in sorted(TAGS.items())
    )
    with connection.cursor() as cursor:
        # The runs: top-level ones, then 5 children under every 45th.
        run_id = f"{exp_name} || '_' || {d.text('1735689600 + 300 * i')} || '_' || {d.hex8('i')}"
        cursor.execute(
            f"{with_}INSERT INTO runs_run (id, workspace_id, experiment_id, parent_id, root_id,"
            " child_counter, display_name, status, submitted_by_id, compute_target, created,"
            " started, ended, heartbeat, description, description_html, error_code,"
            " error_message, error_details, script, arguments, worker, search_text)"
            f" SELECT {run_id}, {workspace_id}, {exp_case}, NULL, {run_id},"
            " CASE WHEN i % 45 = 0 THEN 5 ELSE 0 END,"
            f" {model} || ' run ' || {d.text('i')}, {status}, {user_case},"
            " CASE WHEN i % 2 = 0 THEN 'local' ELSE 'gpu-cluster' END,"
            f" {d.seconds_after_t0('300 * i')}, {d.seconds_after_t0('300 * i + 5')},"
            f" CASE WHEN i % 100 < 90 THEN {d.seconds_after_t0('300 * i + 600 + i % 7000')} END,"
            " NULL, '', '', '', '', NULL, '', '[]', '',"
            f" lower({run_id} || '\n' || {model} || ' run ' || {d.text('i')} || '\n' ||"
            f" {exp_name} || '\n' || {user_name} || {tag_text})"
            f" FROM {source}",
        )
        kids = runs // 10
        with_k, source_k = d.numbers(kids)
        # Child j (1..kids) belongs to root 45 * ((j - 1) / 5 + 1), number (j - 1) % 5 + 1.
        root_i = "(45 * ((i - 1) / 5 + 1))"
        parent_id = (
            f"{d.pick([f'experiment-{k}' for k in range(len(experiment_ids))], root_i)} || '_' ||"
            f" {d.text(f'1735689600 + 300 * {root_i}')} || '_' || {d.hex8(root_i)}"
        )
        child_id = f"{parent_id} || '_' || {d.text('(i - 1) % 5 + 1')}"
        cursor.execute(
            f"{with_k}INSERT INTO runs_run (id, workspace_id, experiment_id, parent_id, root_id,"
            " child_counter, display_name, status, submitted_by_id, compute_target, created,"
            " started, ended, heartbeat, description, description_html, error_code,"
            " error_message, error_details, script, arguments, worker, search_text)"
            f" SELECT {child_id}, {workspace_id},"
            f" {d.pick_number(experiment_ids, root_i)},"
            f" {parent_id}, {parent_id}, 0, 'fold ' || {d.text('(i - 1) % 5 + 1')},"
            f" {status}, {d.pick_number(user_ids, f'{root_i} * 3')}, 'local',"
            f" {d.seconds_after_t0(f'300 * {root_i} + (i - 1) % 5 + 1')},"
            f" {d.seconds_after_t0(f'300 * {root_i} + 10')},"
            f" CASE WHEN i % 100 < 90 THEN {d.seconds_after_t0(f'300 * {root_i} + 900')} END,"
            " NULL, '', '', '', '', NULL, '', '[]', '', lower("
            f"{child_id} || '\nfold ' || {d.text('(i - 1) % 5 + 1')})"
            f" FROM {source_k} WHERE {root_i} <= {roots}",
        )
        # Every run's number (k) in a scratch table: tags, metrics and chunks derive from it.
        cursor.execute("DROP TABLE IF EXISTS bench_run_numbers")
        cursor.execute("CREATE TABLE bench_run_numbers (run_id VARCHAR(255), k BIGINT)")
        cursor.execute(
            "INSERT INTO bench_run_numbers (run_id, k) SELECT id, ROW_NUMBER() OVER (ORDER BY"
            f" created, id) FROM runs_run WHERE workspace_id = {workspace_id}"
        )
        for key, values in TAGS.items():
            mult, _ = TAG_PICK[key]
            cursor.execute(
                "INSERT INTO runs_tag (run_id, key, value)"
                f" SELECT run_id, '{key}', {d.pick(values, f'k * {mult}')} FROM bench_run_numbers"
            )
        for m in range(3):
            cursor.execute(
                "INSERT INTO runs_latestmetric (run_id, name, value, step, time, count)"
                f" SELECT run_id, 'm{m}', ((k * {2654435761 + m}) % 1000003) / 1000003.0, 9,"
                f" {d.seconds_after_t0('k')}, 10 FROM bench_run_numbers"
            )
        # The chunks: a pool of POOL real ones (the compact format), assigned round robin.
        cursor.execute("DROP TABLE IF EXISTS bench_chunk_pool")
        cursor.execute(
            "CREATE TABLE bench_chunk_pool (p BIGINT, steps BYTEA, vals BYTEA, times BYTEA)"
            if d.pg
            else "CREATE TABLE bench_chunk_pool (p INTEGER, steps BLOB, vals BLOB, times BLOB)"
        )
        rng = np.random.default_rng(11)
        steps = codec.encode_ints(np.arange(10))
        rows = []
        for p in range(POOL):
            values = np.exp(-np.arange(10) / (3 + p % 7)) + rng.normal(0, 0.01, 10)
            times = T0.timestamp() + p * 300 + np.cumsum(rng.uniform(0.5, 1.5, 10))
            rows.append((p, steps, codec.encode_floats(values), codec.encode_times(times)))
        cursor.executemany("INSERT INTO bench_chunk_pool VALUES (%s, %s, %s, %s)", rows)
        for m in range(3):
            cursor.execute(
                "INSERT INTO runs_metricchunk (run_id, name, seq, count, first_step, last_step,"
                ' steps, "values", times)'
                f" SELECT n.run_id, 'm{m}', 0, 10, 0, 9, c.steps, c.vals, c.times"
                " FROM bench_run_numbers n JOIN bench_chunk_pool c"
                f" ON c.p = (n.k * 3 + {m}) % {POOL}"
            )
        cursor.execute("DROP TABLE bench_chunk_pool")
        cursor.execute("DROP TABLE bench_run_numbers")
    return time.perf_counter() - started
