"""Demo data for `manage.py seed_demo`: one workspace that shows every feature.

Everything is written through the services, as the API would write it; then
the timestamps are moved back with queryset updates, so the lists look like
weeks of history. Values come from a seeded random generator: each seed gives
the same names, numbers and shapes (run ids hold the second they were made).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import random
import secrets
import tarfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from runs import services
from runs.management.demo_views import seed_saved_views
from runs.models import (
    Experiment,
    LatestMetric,
    Membership,
    Role,
    Run,
    RunEvent,
    RunFile,
    Workspace,
)
from runs.services import alerts
from runs.status import Status

DEMO_USERNAME = "demo"
DEMO_WORKSPACE = "demo"
PASSWORD_FILE = "demo-password.txt"  # noqa: S105 - a file name, not a password
# The other members: (username, first name, last name, role).
MEMBERS = [
    ("alice", "Alice", "Moreau", Role.CONTRIBUTOR),
    ("bob", "Bob", "Okafor", Role.READER),
]
IMAGE_URL = "/static/demo/learning-curves.svg"
# The demo's submitted script: a second a step for ten minutes, its output on the run page.
DEMO_SCRIPT = '''"""A submitted training script: `make run`'s worker runs it; watch its page."""

import math
import random
import sys
import time

from runs.sdk import Run

run = Run.get_context()
epochs = int(sys.argv[sys.argv.index("--epochs") + 1]) if "--epochs" in sys.argv else 600
run.log("Status", "Loading data")
print("Loading MNIST (60,000 images) ...", flush=True)
for step in range(epochs):
    loss = 2.3 * math.exp(-step / 120) + random.random() * 0.05
    run.log("loss", loss)
    run.log("accuracy", 1 - loss / 2.5)
    print(f"step {step:4d}  loss {loss:.4f}", flush=True)
    if step % 100 == 0:
        run.log("Status", f"Epoch {step // 100 + 1}")
    time.sleep(1)
run.log("Status", "Done")
print("Done.")
'''
_RNG_SEED = 20261128


@dataclass
class SeedResult:
    """What seed_demo did and how to sign in."""

    created: bool
    runs: int = 0
    experiments: int = 0
    username: str = DEMO_USERNAME
    password: str | None = None
    password_file: Path | None = None
    user_exists: bool = False


def demo_password(*, data_dir: Path) -> str:
    """The demo user's password from `data_dir`, generated (and kept, mode 0600) on first use."""
    path = data_dir / PASSWORD_FILE
    if path.exists():
        password = path.read_text().strip()
        if password:
            return password
    password = secrets.token_urlsafe(12)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password


def _login_info(data_dir: Path, result: SeedResult) -> SeedResult:
    user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
    result.user_exists = user is not None
    path = data_dir / PASSWORD_FILE
    result.password_file = path
    if user is not None and user.has_usable_password() and path.exists():
        password = path.read_text().strip()
        # Only report the file's password if it still is the user's one.
        if password and user.check_password(password):
            result.password = password
    return result


def demo_seed(*, data_dir: Path, if_empty: bool = False) -> SeedResult:
    """Create the demo workspace with its users, experiments and runs, once.

    Does nothing when the demo workspace has runs already, or, with
    `if_empty`, when the database has any run at all.
    """
    if if_empty and Run.objects.exists():
        return _login_info(data_dir, SeedResult(created=False))
    with transaction.atomic():
        demo = services.user_get_or_create(username=DEMO_USERNAME)
        if not demo.has_usable_password():
            demo.set_password(demo_password(data_dir=data_dir))
            demo.save(update_fields=["password"])
        _name_user(demo, "Dana", "Demo")
        ws = Workspace.objects.filter(slug=DEMO_WORKSPACE).first()
        if ws is not None and Run.objects.filter(workspace=ws).exists():
            return _login_info(data_dir, SeedResult(created=False))
        if ws is None:
            ws = services.workspace_create(slug=DEMO_WORKSPACE, name="Demo workspace", owner=demo)
        services.membership_set(workspace=ws, user=demo, role=Role.OWNER)
        users = {DEMO_USERNAME: demo}
        for username, first, last, role in MEMBERS:
            user = services.user_get_or_create(username=username)
            _name_user(user, first, last)
            services.membership_set(workspace=ws, user=user, role=role)
            users[username] = user
        seeder = _Seeder(ws, users)
        seeder.seed()
        seeder.backdate()
        seeder.seed_submitted()
        seed_saved_views(ws)
        # After the history: the seeded status changes send nothing.
        _seed_alerts(ws, users)
        result = SeedResult(
            created=True,
            runs=Run.objects.filter(workspace=ws).count(),
            experiments=Experiment.objects.filter(workspace=ws).count(),
        )
    return _login_info(data_dir, result)


def _seed_alerts(ws: Workspace, users: dict) -> None:
    """A workspace rule for everyone, one for the owner about runs gone quiet, and a
    member's personal rule: `make run` shows their mail on the Alerts page's Outbox tab."""
    owner = Membership.objects.get(workspace=ws, user=users[DEMO_USERNAME])
    alice = Membership.objects.get(workspace=ws, user=users["alice"])
    alerts.alert_rule_create(
        actor=owner,
        spec=alerts.RuleSpec(
            name="Failed or canceled", statuses=["Failed", "Canceled"], all_members=True
        ),
    )
    alerts.alert_rule_create(
        actor=owner,
        spec=alerts.RuleSpec(name="Runs gone quiet", silent_minutes=3, members=[DEMO_USERNAME]),
    )
    alerts.alert_rule_create(
        actor=alice,
        spec=alerts.RuleSpec(
            name="My runs finished",
            mine_only=True,
            statuses=["Completed", "Failed", "Canceled"],
        ),
    )


def _name_user(user, first: str, last: str) -> None:
    """Give a user created here a name and an address, leaving existing ones alone."""
    type(user).objects.filter(pk=user.pk, first_name="", last_name="", email="").update(
        first_name=first, last_name=last, email=f"{user.username}@example.com"
    )


@dataclass
class _Times:
    created: datetime
    started: datetime | None
    ended: datetime | None
    heartbeat: datetime | None


@dataclass
class _Spec:
    """One run to make: how it ends, when, and what it logs."""

    final: str
    created: datetime
    minutes: float
    display_name: str = ""
    user: str = DEMO_USERNAME
    tags: dict[str, str | None] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    description: str = ""
    error: tuple[str, str] | None = None
    curve: str = "classifier"
    points: int = 200
    script: str = ""
    arguments: list[str] = field(default_factory=list)
    target: str = "local"
    log_file: bool = False
    output_file: bool = False
    quality: float = 1.0
    # Ended by its parent's cancel rather than by its own process.
    by_parent: bool = False


_EXECUTING_FINALS = {
    Status.PREPARING,
    Status.STARTING,
    Status.RUNNING,
    Status.FINALIZING,
    Status.CANCEL_REQUESTED,
}


class _Seeder:
    def __init__(self, workspace: Workspace, users: dict):
        self.ws = workspace
        self.users = users
        self.rng = random.Random(_RNG_SEED)  # noqa: S311 - repeatable demo values, no secrets
        self.now = timezone.now()
        self.times: dict[str, _Times] = {}
        self.experiments: dict[str, Experiment] = {}

    # -- building blocks ---------------------------------------------------

    def experiment(self, name: str) -> Experiment:
        if name not in self.experiments:
            self.experiments[name] = services.experiment_get_or_create(workspace=self.ws, name=name)
        return self.experiments[name]

    def _times(self, spec: _Spec) -> _Times:
        if spec.final in (Status.NOT_STARTED, Status.QUEUED):
            return _Times(spec.created, None, None, None)
        if spec.final == Status.CANCELED and spec.script:
            # A submitted run canceled while it waited in the queue never started.
            return _Times(spec.created, None, spec.created + timedelta(minutes=spec.minutes), None)
        started = spec.created + timedelta(seconds=self.rng.randint(2, 90))
        if spec.script and spec.final in (Status.PREPARING, Status.STARTING):
            # It waited in the queue until a moment ago.
            started = self.now - timedelta(seconds=self.rng.randint(20, 120))
        if spec.final in _EXECUTING_FINALS:
            return _Times(spec.created, started, None, self.now)
        ended = started + timedelta(minutes=spec.minutes)
        return _Times(spec.created, started, ended, ended)

    def start(self, exp: Experiment, spec: _Spec) -> Run:
        """Create the run in the status its story starts in."""
        if spec.final == Status.NOT_STARTED:
            initial = Status.NOT_STARTED
        elif spec.script:
            initial = Status.QUEUED
        else:
            initial = Status.RUNNING
        return services.run_create(
            experiment=exp,
            user=self.users[spec.user],
            display_name=spec.display_name,
            run_status=initial,
            compute_target=spec.target,
            description=spec.description,
            tags=spec.tags,
            properties=spec.properties,
            script=spec.script,
            arguments=spec.arguments,
        )

    def fill(self, run: Run, spec: _Spec) -> None:
        """Record times, log metrics and files for a run made by start() or as a child."""
        times = self._times(spec)
        self.times[run.id] = times
        if times.started is None:
            return
        series = self._curves(spec, times)
        if series:
            services.metric_log_batch(run=run, series=series)
        if spec.log_file and series:
            services.run_file_upload(
                run=run,
                path="logs/driver.log",
                content=ContentFile(self._log_text(spec, times, series).encode()),
                kind=RunFile.Kind.LOG,
            )
        if spec.output_file:
            summary = {s.name: round(s.values[-1], 5) for s in series if s.values}
            services.run_file_upload(
                run=run,
                path="outputs/metrics.json",
                content=ContentFile(json.dumps(summary, indent=2).encode() + b"\n"),
            )
            services.run_file_upload(
                run=run,
                path="outputs/model-card.md",
                content=ContentFile(self._model_card(run, spec, summary).encode()),
            )

    def finish(self, run: Run, spec: _Spec) -> None:
        """Move the run along the status machine to where its story ends."""
        final = spec.final
        actor = self.users[spec.user]
        if spec.by_parent:
            return
        if run.status == Status.QUEUED and final not in (Status.QUEUED, Status.CANCELED):
            # A submitted run: the executor prepares and starts it before it runs.
            for step in (Status.PREPARING, Status.STARTING, Status.RUNNING):
                services.run_set_status(run=run, to=step, actor=actor)
                if step == final:
                    return
        if final == Status.FINALIZING:
            services.run_set_status(run=run, to=Status.FINALIZING, actor=actor)
        elif final == Status.CANCEL_REQUESTED:
            services.run_cancel(run=run, actor=actor)
        elif final == Status.COMPLETED:
            services.run_complete(run=run, actor=actor)
        elif final == Status.FAILED:
            code, message = spec.error or ("UserError", "")
            services.run_fail(run=run, actor=actor, error_code=code, message=message)
        elif final == Status.CANCELED:
            # The owning process cancels its own run at once; a queued one needs no process.
            services.run_cancel(run=run, actor=actor, immediate=True)

    def end_at(self, run_id: str, when: datetime) -> None:
        """Set a run's end (and last heartbeat) in the story."""
        self.times[run_id].ended = when
        self.times[run_id].heartbeat = when

    def sweep_summary(self, parent: Run, kids: list[Run], metric: str, name: str, best) -> None:
        """Log on the parent the best `metric` so far, one point per child as it finished."""
        finals = dict(
            LatestMetric.objects.filter(run__in=kids, name=metric).values_list("run_id", "value")
        )
        done = sorted(
            (self.times[k.id].ended, finals[k.id])
            for k in kids
            if finals.get(k.id) is not None and self.times[k.id].ended is not None
        )
        values = list(itertools.accumulate((v for _, v in done), best))
        services.metric_log_batch(
            run=parent,
            series=[
                services.SeriesIn(
                    name, values, list(range(len(values))), [t.timestamp() for t, _ in done]
                )
            ],
        )

    def make(self, exp: Experiment, spec: _Spec) -> Run:
        run = self.start(exp, spec)
        self.fill(run, spec)
        self.finish(run, spec)
        return run

    def children(
        self,
        parent: Run,
        specs: list[_Spec],
        *,
        tag_key: str,
        tag_values: list[str],
    ) -> list[Run]:
        """Children of a running parent in one request, each with its own story."""
        for spec in specs:
            spec.user = parent.submitted_by.get_username()
        kids = services.run_create_children(
            parent=parent,
            user=parent.submitted_by,
            tag_key=tag_key,
            tag_values=tag_values,
            display_names=[s.display_name for s in specs],
        )
        for kid, spec in zip(kids, specs, strict=True):
            if spec.properties:
                services.run_add_properties(run=kid, properties=spec.properties, record=False)
            if spec.tags:
                services.run_set_tags(run=kid, tags=spec.tags, record=False)
            self.fill(kid, spec)
        return kids

    # -- generated content -------------------------------------------------

    def _curves(self, spec: _Spec, times: _Times) -> list[services.SeriesIn]:
        rng = self.rng
        n = spec.points
        if n == 0 or spec.final in (Status.PREPARING, Status.STARTING):
            return []
        if spec.final == Status.FAILED:
            n = max(12, int(n * rng.uniform(0.2, 0.7)))
        elif spec.final in _EXECUTING_FINALS or spec.final == Status.CANCELED:
            n = max(12, int(n * rng.uniform(0.3, 0.8)))
        start = times.started.timestamp()
        end = (times.ended or self.now).timestamp()
        stamps = [start + (end - start) * (i + 1) / n for i in range(n)]
        q = spec.quality
        noise = [rng.gauss(0, 1) for _ in range(n)]
        if spec.curve == "classifier":
            tau = rng.uniform(0.12, 0.3) * spec.points
            loss = [
                0.04 / q
                + 2.2 * math.exp(-i / tau)
                + 0.03 * abs(noise[i]) * math.exp(-i / (3 * tau))
                for i in range(n)
            ]
            acc = [
                min(0.999, (0.985 * q) - 0.87 * math.exp(-i / tau) + 0.006 * noise[i])
                for i in range(n)
            ]
            if spec.error and spec.error[0] == "LossIsNaN":
                loss[-1] = math.nan
            every = max(1, n // 20)
            val_steps = list(range(every - 1, n, every))
            series = [
                services.SeriesIn("loss", loss, list(range(n)), stamps),
                services.SeriesIn("accuracy", acc, list(range(n)), stamps),
                services.SeriesIn(
                    "val_loss",
                    [loss[i] * 1.15 + 0.02 * i / n for i in val_steps],
                    val_steps,
                    [stamps[i] for i in val_steps],
                ),
                services.SeriesIn(
                    "val_accuracy",
                    [acc[i] - 0.012 for i in val_steps],
                    val_steps,
                    [stamps[i] for i in val_steps],
                ),
                services.SeriesIn(
                    "learning_rate",
                    [0.5 * (1 + math.cos(math.pi * i / spec.points)) * 1e-3 for i in range(n)],
                    list(range(n)),
                    stamps,
                ),
            ]
        elif spec.curve == "tokenizer":
            floor = 1.05 + 0.35 / q
            bpb = [floor + 1.4 * math.exp(-i / (0.25 * n)) + 0.01 * noise[i] for i in range(n)]
            series = [
                services.SeriesIn("bits_per_byte", bpb, list(range(n)), stamps),
                services.SeriesIn(
                    "compression_ratio", [8 / b for b in bpb], list(range(n)), stamps
                ),
            ]
        else:  # finetune
            tau = 0.2 * spec.points
            top1 = [
                min(0.99, 0.62 + (0.2 * q) * (1 - math.exp(-i / tau)) + 0.004 * noise[i])
                for i in range(n)
            ]
            series = [
                services.SeriesIn(
                    "train_loss",
                    [0.25 + 1.6 * math.exp(-i / tau) + 0.05 * abs(noise[i]) for i in range(n)],
                    list(range(n)),
                    stamps,
                ),
                services.SeriesIn("top1", top1, list(range(n)), stamps),
                services.SeriesIn(
                    "top5", [min(0.999, t + 0.13) for t in top1], list(range(n)), stamps
                ),
                services.SeriesIn(
                    "gpu_memory_gb",
                    [11.5 + 0.4 * rng.random() for _ in range(n)],
                    list(range(n)),
                    stamps,
                ),
            ]
        return series

    def _log_text(self, spec: _Spec, times: _Times, series: list[services.SeriesIn]) -> str:
        lines = [
            f"{times.started:%Y-%m-%d %H:%M:%S} INFO  starting {spec.display_name or 'run'} "
            f"on target {spec.target}",
            f"{times.started:%Y-%m-%d %H:%M:%S} INFO  properties: "
            + ", ".join(f"{k}={v}" for k, v in spec.properties.items()),
        ]
        first = series[0]
        for i in range(0, len(first.values), max(1, len(first.values) // 40)):
            when = datetime.fromtimestamp(first.times[i], tz=times.started.tzinfo)
            values = "  ".join(
                f"{s.name}={s.values[i]:.4g}" for s in series if len(s.values) == len(first.values)
            )
            lines.append(f"{when:%Y-%m-%d %H:%M:%S} INFO  step {i:>5}  {values}")
        end = times.ended or self.now
        if spec.final == Status.FAILED and spec.error:
            lines.append(f"{end:%Y-%m-%d %H:%M:%S} ERROR {spec.error[0]}: {spec.error[1]}")
        elif spec.final == Status.COMPLETED:
            lines.append(f"{end:%Y-%m-%d %H:%M:%S} INFO  done, checkpoint written")
        return "\n".join(lines) + "\n"

    def _model_card(self, run: Run, spec: _Spec, summary: dict) -> str:
        rows = "\n".join(f"| {k} | {v} |" for k, v in summary.items())
        props = "\n".join(f"- **{k}**: {v}" for k, v in spec.properties.items())
        return (
            f"# {spec.display_name or run.id}\n\nRun `{run.id}` of {run.experiment.name}.\n\n"
            f"## Final metrics\n\n| metric | value |\n|---|---|\n{rows}\n\n"
            f"## Training setup\n\n{props}\n"
        )

    def _commit(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def _ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    # -- the story ---------------------------------------------------------

    def seed(self) -> None:
        self.seed_mnist()
        self.seed_tokenizer()
        self.seed_resnet()

    def seed_mnist(self) -> None:
        exp = self.experiment("mnist-cnn")
        rng = self.rng
        baseline = self.make(
            exp,
            _Spec(
                Status.COMPLETED,
                self._ago(34.5),
                42,
                display_name="baseline",
                tags={"model": "cnn-small", "baseline": None, "quality": "good"},
                properties=self._mnist_props(0.001, 64, "adam"),
                description=(
                    "# Baseline\n\nTwo conv layers, one dense layer, Adam at `lr=1e-3`.\n\n"
                    f"![Learning curves of the baseline]({IMAGE_URL})\n\n"
                    "| split | accuracy |\n|:---|---:|\n| train | 0.991 |\n| test | 0.987 |\n\n"
                    "Reproduce with:\n\n```bash\npython train.py --lr 1e-3 --batch-size 64\n```\n"
                ),
                log_file=True,
                output_file=True,
            ),
        )
        optimizers = ["adam", "adamw", "sgd", "rmsprop"]
        qualities = ["good", "ok", "needs more epochs", "fantastic run"]
        best = baseline
        for i in range(95):
            days = 34 - i * 0.35 - rng.uniform(0, 0.3)
            roll = rng.random()
            error = None
            if roll < 0.08:
                final = Status.FAILED
                error = rng.choice(
                    [
                        ("LossIsNaN", "loss became NaN at the last step (lr too high?)"),
                        ("OutOfMemory", "CUDA out of memory: tried to allocate 2.00 GiB"),
                        ("UserError", "FileNotFoundError: data/mnist/train-images-idx3-ubyte"),
                    ]
                )
            elif roll < 0.13:
                final = Status.CANCELED
            else:
                final = Status.COMPLETED
            lr = rng.choice([0.0003, 0.0005, 0.001, 0.002, 0.005, 0.01])
            batch = rng.choice([32, 64, 128, 256])
            opt = rng.choice(optimizers)
            tags: dict[str, str | None] = {"model": rng.choice(["cnn-small", "cnn-wide"])}
            if rng.random() < 0.35:
                tags["quality"] = rng.choice(qualities)
            if rng.random() < 0.12:
                tags["worth another look"] = None
            if opt == "sgd":
                tags["momentum sweep"] = None
            quality = rng.uniform(0.93, 1.01)
            spec = _Spec(
                final,
                self._ago(days),
                rng.uniform(8, 95),
                display_name=rng.choice(["", "", f"{opt} lr={lr}", f"bs{batch} {opt}"]),
                user=rng.choice([DEMO_USERNAME, DEMO_USERNAME, "alice"]),
                tags=tags,
                properties=self._mnist_props(lr, batch, opt),
                error=error,
                points=rng.choice([150, 200, 300]),
                quality=quality,
                log_file=i % 9 == 0,
                output_file=i % 17 == 0 and final == Status.COMPLETED,
            )
            if error and error[0] == "LossIsNaN":
                spec.description = (
                    f"Diverged with `lr={lr}`: the last loss is NaN, so its latest value is "
                    "empty in the list. Compare with the "
                    f"[baseline](/w/{self.ws.slug}/runs/{baseline.id}/)."
                )
            run = self.make(exp, spec)
            if final == Status.COMPLETED and quality > 1.0 and best is baseline:
                best = run
                services.run_update(
                    run=run,
                    description=(
                        "**Best so far.** Beats the [baseline](run:"
                        f"{baseline.id}) by half a point of accuracy; see its "
                        f"[run page](/w/{self.ws.slug}/runs/{baseline.id}/) for the setup and "
                        "[the Adam paper](https://arxiv.org/abs/1412.6980) for why the betas "
                        "matter.\n\n- [x] same seed as the baseline\n- wider first layer"
                    ),
                )
                services.run_set_tags(
                    run=run, tags={"quality": "fantastic run", "best": None}, record=False
                )
        self.seed_mnist_sweep(exp)
        self.seed_mnist_live(exp)

    def _mnist_props(self, lr: float, batch: int, opt: str) -> dict[str, str]:
        return {
            "lr": str(lr),
            "batch_size": str(batch),
            "optimizer": opt,
            "epochs": "10",
            "git_commit": self._commit(),
            "dataset": "mnist-v2",
        }

    def seed_mnist_sweep(self, exp: Experiment) -> None:
        """A learning-rate sweep: a parent and 16 children tagged with their lr."""
        created = self._ago(12.2)
        parent_spec = _Spec(
            Status.COMPLETED,
            created,
            60,
            display_name="lr sweep",
            tags={"sweep": "lr", "model": "cnn-small"},
            properties={"sweep_size": "16", "git_commit": self._commit()},
            description="Sixteen learning rates on a log scale; each child is tagged `lr`.",
            points=0,
        )
        parent = self.start(exp, parent_spec)
        lrs = [f"{10 ** (-4 + k * 0.2):.5f}" for k in range(16)]
        specs = []
        for k, lr in enumerate(lrs):
            final = Status.FAILED if k == 15 else Status.COMPLETED
            specs.append(
                _Spec(
                    final,
                    created + timedelta(seconds=30 + k),
                    self.rng.uniform(20, 55),
                    display_name=f"lr={lr}",
                    properties=self._mnist_props(float(lr), 128, "adam"),
                    error=("LossIsNaN", "loss became NaN at the last step") if k == 15 else None,
                    quality=1.0 - abs(k - 7) * 0.008,
                    log_file=k == 7,
                )
            )
        kids = self.children(parent, specs, tag_key="lr", tag_values=lrs)
        for kid, spec in zip(kids, specs, strict=True):
            self.finish(kid, spec)
        self.fill(parent, parent_spec)
        self.end_at(parent.id, max(self.times[k.id].ended for k in kids) + timedelta(minutes=1))
        self.sweep_summary(parent, kids, "accuracy", "best_accuracy", max)
        self.finish(parent, parent_spec)

    def seed_mnist_live(self, exp: Experiment) -> None:
        """Runs happening now: one Running with a fresh heartbeat, and its neighbours."""
        self.make(
            exp,
            _Spec(
                Status.RUNNING,
                self.now - timedelta(minutes=25),
                0,
                display_name="live: wider conv, cosine schedule",
                tags={"model": "cnn-wide", "worth another look": None},
                properties=self._mnist_props(0.002, 128, "adamw"),
                description="Training right now: watch the charts and the log tail.",
                points=300,
                log_file=True,
            ),
        )
        self.make(
            exp,
            _Spec(
                Status.FINALIZING,
                self.now - timedelta(minutes=48),
                0,
                display_name="uploading checkpoint",
                tags={"model": "cnn-small"},
                properties=self._mnist_props(0.001, 64, "adam"),
            ),
        )
        self.make(
            exp,
            _Spec(
                Status.CANCEL_REQUESTED,
                self.now - timedelta(minutes=15),
                0,
                display_name="wrong dataset, cancelling",
                user="alice",
                tags={"model": "cnn-small", "quality": "wrong data"},
                properties=self._mnist_props(0.001, 64, "sgd"),
            ),
        )

    def seed_tokenizer(self) -> None:
        """Sweeps of vocabulary sizes; the first one has three seeds under each child."""
        exp = self.experiment("tokenizer-sweep")
        rng = self.rng
        sizes = [
            str(n)
            for n in sorted([2**k for k in range(12, 18)] + [3 * 2**k for k in range(11, 17)])
        ]
        for n, (days, final) in enumerate(
            [(27.0, Status.COMPLETED), (16.0, Status.COMPLETED), (5.0, Status.CANCELED)]
        ):
            created = self._ago(days)
            algorithm = ["bpe", "unigram", "bpe"][n]
            parent_spec = _Spec(
                final,
                created,
                90,
                display_name=f"vocab sweep #{n + 1}",
                user="alice" if n == 1 else DEMO_USERNAME,
                tags={"sweep": "vocab_size", "algorithm": algorithm},
                properties={"corpus": "wiki-en 2026-10", "git_commit": self._commit()},
                description=(
                    "Canceled: the corpus snapshot was wrong. Children that had finished "
                    "keep their results; the rest were canceled with the parent."
                    if final == Status.CANCELED
                    else f"Vocabulary sizes {sizes[0]} to {sizes[-1]}, `{algorithm}`."
                ),
                points=0,
            )
            parent = self.start(exp, parent_spec)
            specs = []
            for k, size in enumerate(sizes):
                child_final = Status.COMPLETED
                if final == Status.CANCELED and k >= 5:
                    child_final = Status.CANCELED
                elif k == 9 and n == 1:
                    child_final = Status.FAILED
                specs.append(
                    _Spec(
                        child_final,
                        created + timedelta(minutes=k),
                        rng.uniform(5, 40),
                        display_name=f"vocab {size}",
                        properties={"vocab_size": size, "min_frequency": "2"},
                        error=("OutOfMemory", "merge table does not fit in 16 GiB")
                        if child_final == Status.FAILED
                        else None,
                        curve="tokenizer",
                        points=rng.choice([60, 80, 100]),
                        quality=1.0 + math.log2(int(size)) / 40,
                        by_parent=child_final == Status.CANCELED,
                    )
                )
            kids = self.children(parent, specs, tag_key="vocab_size", tag_values=sizes)
            if n == 0:
                for kid, spec in zip(kids, specs, strict=True):
                    self.seed_tokenizer_seeds(kid, spec)
            for kid, spec in zip(kids, specs, strict=True):
                self.finish(kid, spec)
            self.fill(parent, parent_spec)
            parent_end = max(self.times[k.id].ended for k in kids) + timedelta(minutes=2)
            self.end_at(parent.id, parent_end)
            self.sweep_summary(parent, kids, "bits_per_byte", "best_bits_per_byte", min)
            # The cancel reaches the unfinished children: they end with the parent.
            self.finish(parent, parent_spec)
            for kid, spec in zip(kids, specs, strict=True):
                if spec.by_parent:
                    self.end_at(kid.id, parent_end)
        for k in range(12):
            self.make(
                exp,
                _Spec(
                    rng.choice([Status.COMPLETED] * 5 + [Status.FAILED]),
                    self._ago(30 - k * 2.3),
                    rng.uniform(5, 30),
                    display_name=f"single run {k + 1}",
                    user=rng.choice([DEMO_USERNAME, "alice"]),
                    tags={"algorithm": rng.choice(["bpe", "unigram", "wordpiece"])},
                    properties={"vocab_size": rng.choice(sizes), "corpus": "wiki-en 2026-10"},
                    error=("UserError", "ValueError: vocab_size must exceed the alphabet size"),
                    curve="tokenizer",
                    points=80,
                ),
            )

    def seed_tokenizer_seeds(self, child: Run, spec: _Spec) -> None:
        """Three seeds under a sweep child: the second level of the tree."""
        seeds = ["0", "1", "2"]
        specs = [
            _Spec(
                Status.COMPLETED,
                spec.created + timedelta(seconds=10 + s),
                spec.minutes * 0.9,
                display_name=f"{spec.display_name} seed {seed}",
                curve="tokenizer",
                points=40,
                quality=spec.quality + 0.01 * s,
            )
            for s, seed in enumerate(seeds)
        ]
        grandkids = self.children(child, specs, tag_key="seed", tag_values=seeds)
        for kid, kid_spec in zip(grandkids, specs, strict=True):
            self.finish(kid, kid_spec)

    def seed_resnet(self) -> None:
        """Fine-tuning on a GPU cluster: submitted scripts in every early status."""
        exp = self.experiment("resnet-finetune")
        rng = self.rng
        for i in range(40):
            roll = rng.random()
            error = None
            if roll < 0.15:
                final = Status.FAILED
                error = rng.choice(
                    [
                        ("OutOfMemory", "CUDA out of memory: tried to allocate 1.50 GiB"),
                        ("HeartbeatLost", "no heartbeat for over 120 s"),
                        ("UserError", "RuntimeError: size mismatch for fc.weight"),
                    ]
                )
            elif roll < 0.2:
                final = Status.CANCELED
            else:
                final = Status.COMPLETED
            layers = rng.choice(["18", "34", "50"])
            frozen = rng.choice(["0", "1", "2", "3"])
            self.make(
                exp,
                _Spec(
                    final,
                    self._ago(21 - i * 0.5),
                    rng.uniform(30, 240),
                    display_name=f"resnet{layers} frozen={frozen}",
                    user=rng.choice([DEMO_USERNAME, "alice", "alice"]),
                    tags={"backbone": f"resnet{layers}", "dataset": "flowers-102"},
                    properties={
                        "lr": str(rng.choice([1e-4, 3e-4, 1e-3])),
                        "batch_size": "64",
                        "optimizer": "sgd",
                        "frozen_stages": frozen,
                        "git_commit": self._commit(),
                    },
                    error=error,
                    curve="finetune",
                    points=rng.choice([300, 400, 500]),
                    quality=rng.uniform(0.8, 1.1),
                    script="finetune.py",
                    arguments=["--backbone", f"resnet{layers}", "--frozen-stages", frozen],
                    target="gpu-cluster",
                    log_file=i % 5 == 0,
                    output_file=i % 8 == 0 and final == Status.COMPLETED,
                ),
            )
        waiting = [
            (Status.STARTING, 3, "resnet50 lr=3e-4"),
            (Status.PREPARING, 2, "resnet50 lr=1e-4"),
            (Status.QUEUED, 1.5, "resnet101 frozen=2"),
            (Status.QUEUED, 1, "resnet101 frozen=3"),
            (Status.QUEUED, 0.5, "resnet152 frozen=3"),
            (Status.NOT_STARTED, 0.2, "draft: mixup"),
        ]
        for final, hours, name in waiting:
            spec = _Spec(
                final,
                self.now - timedelta(hours=hours),
                0,
                display_name=name,
                tags={"backbone": name.split()[0], "dataset": "flowers-102"},
                properties={"batch_size": "64", "optimizer": "sgd"},
                curve="finetune",
                points=0,
                script="finetune.py",
                arguments=["--backbone", name.split()[0]],
                target="gpu-cluster",
            )
            if final == Status.NOT_STARTED:
                spec.script = ""
                spec.description = "Not submitted yet: waiting for the mixup data loader."
            self.make(exp, spec)
        # Canceled while it waited in the queue.
        self.make(
            exp,
            _Spec(
                Status.CANCELED,
                self._ago(1.2),
                40,
                display_name="resnet50 duplicate submission",
                tags={"backbone": "resnet50"},
                script="finetune.py",
                arguments=["--backbone", "resnet50"],
                target="gpu-cluster",
            ),
        )

    # -- history -----------------------------------------------------------

    def seed_submitted(self) -> None:
        """A submitted script, Queued: `make run`'s worker executes it, and its output
        streams to the run page (written after backdate: it happens now)."""
        services.compute_target_create(
            workspace=self.ws,
            name="gpu-cluster",
            executor="celery",
            description="Served by celery -A studio worker -Q gpu-cluster on the GPU machines",
            actor=self.users[DEMO_USERNAME],
        )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            data = DEMO_SCRIPT.encode()
            info = tarfile.TarInfo("train.py")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        services.run_submit(
            experiment=self.experiment("mnist-cnn"),
            user=self.users[DEMO_USERNAME],
            script="train.py",
            arguments=["--epochs", "600"],
            target="local",
            snapshot=ContentFile(buffer.getvalue(), name="snapshot.tar.gz"),
            display_name="submitted: train.py, output live",
            tags={"model": "cnn-small", "submitted": None},
        )

    def backdate(self) -> None:
        """Move every timestamp back to the story's times (they were written as now)."""
        for run_id, t in self.times.items():
            Run.objects.filter(pk=run_id).update(
                created=t.created, started=t.started, ended=t.ended, heartbeat=t.heartbeat
            )
        runs = Run.objects.filter(pk=OuterRef("run_id"))

        def at(*fields: str) -> Coalesce:
            return Coalesce(*(Subquery(runs.values(f)[:1]) for f in (*fields, "created")))

        events = RunEvent.objects.filter(run__workspace=self.ws)
        terminal = [Status.COMPLETED, Status.FAILED, Status.CANCELED]
        late = [Status.FINALIZING, Status.CANCEL_REQUESTED]
        events.filter(new__in=terminal).update(created=at("ended"))
        events.filter(new__in=late).update(created=at("heartbeat"))
        events.exclude(new__in=terminal + late).update(created=at("started"))
        RunFile.objects.filter(run__workspace=self.ws).update(
            created=at("started"), updated=at("ended", "heartbeat", "started")
        )
        for exp in self.experiments.values():
            first = min(t.created for rid, t in self.times.items() if rid.startswith(exp.name))
            Experiment.objects.filter(pk=exp.pk).update(created=first - timedelta(minutes=5))
        Workspace.objects.filter(pk=self.ws.pk).update(created=self._ago(36))
