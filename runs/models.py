"""The run-history data model."""

from __future__ import annotations

import posixpath
import re
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from runs.lifecycle import EXECUTING, TERMINAL, Status

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NAME_HELP = "1-100 characters: letters, digits, '.', '_' and '-', starting with a letter or digit."


def validate_name(value: str) -> None:
    """Names that appear in URLs and run ids: workspaces and experiments."""
    if not NAME_RE.fullmatch(value or ""):
        raise ValidationError(f"{value!r} is not a valid name: {NAME_HELP}")


def one_or_none(qs: models.QuerySet):
    """The row of a lookup by a unique key, or None, read without an ORDER BY.

    `first()` orders by the model's default ordering: on a lookup by primary key that
    sort made SQLite walk the workspace's runs along a (workspace, created) index
    instead of reading the one row through the key.
    """
    return next(iter(qs.order_by()[:1]), None)


class Role(models.TextChoices):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    OWNER = "owner"


ROLE_RANK = {Role.READER: 0, Role.CONTRIBUTOR: 1, Role.OWNER: 2}


class Workspace(models.Model):
    slug = models.CharField(max_length=100, unique=True, validators=[validate_name])
    name = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces"
    )
    # The shared view owners pinned: what "All runs" without parameters shows every
    # member. Read with the membership (no query of its own).
    default_view = models.ForeignKey(
        "SavedView", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    def has_role(self, role: str) -> bool:
        """Whether this membership is at least `role` (reader < contributor < owner)."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class Experiment(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=100, validators=[validate_name])
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="experiment_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    # `<experiment>_<unix-seconds>_<8 hex>`; children `<parent-id>_<n>`.
    id = models.CharField(primary_key=True, max_length=255)
    # Denormalised from the experiment: every list is scoped by workspace first.
    # The foreign keys' own indexes are left out where an index of Meta.indexes starts
    # with the same column (it serves the same lookups): less to write a run, less disk.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        db_index=False,
    )
    # The top of this run's tree (itself for a top-level run), for whole-tree queries.
    root = models.ForeignKey(
        "self", on_delete=models.CASCADE, related_name="tree_members", db_index=False
    )
    # How many children were ever numbered under this run: the next child is _<n+1>.
    child_counter = models.PositiveIntegerField(default=0)
    display_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    compute_target = models.CharField(max_length=100, default="local")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    # Sanitised HTML of `description`, rendered when it is written (runs.markdown).
    description_html = models.TextField(blank=True, editable=False)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    # Submitted runs: what to execute, and the worker that took it (runworker, Celery).
    script = models.CharField(max_length=500, blank=True)
    arguments = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    # What the run list's free text searches, lowercased (run_search_text): written by
    # the services that change its parts (runs.services.runs_refresh_search_text).
    search_text = models.TextField(blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        # Creation indexes run oldest first: new runs append at the index's end, which
        # fills its pages (newest first, every insert split a page at the front and left
        # it half empty: 35-50% of these indexes' bytes). Newest-first reads walk them
        # backwards, on SQLite and PostgreSQL alike.
        indexes = [
            models.Index(fields=["experiment", "created"], name="run_experiment_created"),
            models.Index(fields=["workspace", "created"], name="run_workspace_created"),
            # The run list: top-level runs newest first, counted and paged from the index alone.
            models.Index(
                fields=["workspace", "parent", "created", "id"],
                name="run_workspace_parent_created",
            ),
            models.Index(fields=["workspace", "status"], name="run_workspace_status"),
            models.Index(fields=["parent", "created"], name="run_parent_created"),
            models.Index(fields=["status", "heartbeat"], name="run_status_heartbeat"),
            # Runs looked up by id from another index (a tag's, a metric's): scope and tree
            # without reading the row, for counting matching trees.
            models.Index(
                fields=["id", "workspace", "experiment", "parent", "root"], name="run_id_tree"
            ),
            # The descendants of a root (root, parent not null): two columns, so that
            # SQLite prefers it to a one-column index on a condition (status, ...).
            models.Index(fields=["root", "parent"], name="run_root_parent"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_executing(self) -> bool:
        return self.status in EXECUTING

    @property
    def duration(self):
        """Time from start to end (or to now while it runs); None before it starts."""
        if self.started is None:
            return None
        return (self.ended or timezone.now()) - self.started

    def descendants(self) -> models.QuerySet[Run]:
        """Every run below this one, at any depth (ids are prefixed by their parent's)."""
        return Run.objects.filter(root_id=self.root_id, id__startswith=f"{self.id}_").exclude(
            pk=self.pk
        )

    def error_document(self) -> dict | None:
        if not self.error_code and not self.error_message:
            return None
        return {"code": self.error_code, "message": self.error_message}


# How much of a description the free text sees.
SEARCH_DESCRIPTION_CHARS = 4000


def run_search_text(
    *,
    run_id: str,
    display_name: str,
    description: str,
    experiment: str,
    submitter: str | None,
    tags: dict[str, str | None],
) -> str:
    """The lowercased text the run list's free text matches: one part a line, so a
    search word (which never holds a space) cannot span two parts."""
    parts = [run_id, display_name, description[:SEARCH_DESCRIPTION_CHARS], experiment]
    parts.append(submitter or "")
    for key, value in tags.items():
        parts += [key, value or ""]
    return "\n".join(p for p in parts if p).lower()


# The run's foreign key of the tables below needs no index of its own: each has a
# unique constraint or an index that starts with `run`.


class Tag(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tags", db_index=False)
    key = models.CharField(max_length=255)
    # NULL is a key-only tag ("worth another look"), distinct from the empty string.
    value = models.CharField(max_length=1000, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="tag_unique_key")]
        indexes = [models.Index(fields=["key", "value", "run"], name="tag_key_value_run")]

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


class Property(models.Model):
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="properties", db_index=False
    )
    key = models.CharField(max_length=255)
    value = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "properties"
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="property_unique_key")]
        indexes = [models.Index(fields=["key", "value", "run"], name="property_key_value_run")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class MetricChunk(models.Model):
    """Up to CHUNK_POINTS consecutive points of one (run, name) series.

    `steps` (int64), `values` and `times` (float64, unix seconds) are packed
    little-endian arrays of `count` items each: a few bytes a point instead of a
    row a point (see runs.metrics_codec).
    """

    CHUNK_POINTS = 1000

    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="metric_chunks", db_index=False
    )
    name = models.CharField(max_length=255)
    seq = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    # Smallest and largest step in the chunk, to skip chunks outside a step range.
    first_step = models.BigIntegerField()
    last_step = models.BigIntegerField()
    steps = models.BinaryField()
    values = models.BinaryField()
    times = models.BinaryField()

    class Meta:
        ordering = ["run", "name", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name", "seq"], name="metric_chunk_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}#{self.seq}"


class LatestMetric(models.Model):
    """The last point of each series: list columns, sorting and filtering."""

    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="latest_metrics", db_index=False
    )
    name = models.CharField(max_length=255)
    # NULL when the last value was NaN (SQLite stores NaN as NULL anyway), or not a number.
    value = models.FloatField(null=True)
    # The last value of a text series (strings and booleans, MetricText): NULL for numbers.
    text = models.TextField(null=True, blank=True)  # noqa: DJ001 - NULL: a numeric series
    step = models.BigIntegerField()
    time = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="latest_metric_unique_name"),
        ]
        indexes = [models.Index(fields=["name", "value"], name="latest_metric_name_value")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}={self.value}"


class MetricText(models.Model):
    """One point of a text series (`run.log("message", "Hello")`, booleans too).

    Text points are few (status lines, flags), so each is a row; numeric series
    stay in packed MetricChunks. A series holds numbers or text, never both.
    """

    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="metric_texts", db_index=False
    )
    name = models.CharField(max_length=255)
    step = models.BigIntegerField()
    # Unix seconds, as the points are sent.
    time = models.FloatField()
    value = models.TextField()
    # A boolean point: `value` is "true" or "false".
    is_bool = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "name", "id"]
        indexes = [models.Index(fields=["run", "name", "id"], name="metric_text_run_name")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}@{self.step}={self.value[:40]}"

    @property
    def typed_value(self) -> str | bool:
        return self.value == "true" if self.is_bool else self.value

    @property
    def logged(self) -> datetime:
        return datetime.fromtimestamp(self.time, tz=UTC)


class MetricBatch(models.Model):
    """Idempotency keys of metric batches already stored: a resent batch is a no-op."""

    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="metric_batches", db_index=False
    )
    key = models.CharField(max_length=100)
    points = models.PositiveIntegerField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="metric_batch_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.key}"


def run_file_path(instance: RunFile, filename: str) -> str:
    """Where the storage keeps the file: its path in the run, the last part named "file"
    when the storage would keep none of its characters ('»®', '">'); the run knows the
    file by its path either way."""
    folder, name = posixpath.split(instance.path)
    try:
        get_valid_filename(name)
    except SuspiciousFileOperation:
        name = "file"
    where = f"runs/{instance.run.workspace_id}/{instance.run_id}/{instance.kind}"
    return posixpath.join(where, folder, name)


class RunFile(models.Model):
    class Kind(models.TextChoices):
        LOG = "log"
        OUTPUT = "output"
        # The source folder of a submitted run, as uploaded (a .tar.gz).
        SNAPSHOT = "snapshot"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OUTPUT)
    size = models.BigIntegerField(default=0)
    file = models.FileField(upload_to=run_file_path, max_length=1000)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "path"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="run_file_unique_path")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.path}"


class RunFilePart(models.Model):
    """Bytes appended to a run file (a growing log), stored as an object of their own.

    Object stores cannot append: each append writes a new object, and the file's
    content is its first object followed by its parts in `start` order
    (runs.file_content). Many parts are merged back into one object now and then.
    """

    run_file = models.ForeignKey(RunFile, on_delete=models.CASCADE, related_name="parts")
    # Where these bytes begin in the file.
    start = models.BigIntegerField()
    size = models.BigIntegerField()
    name = models.CharField(max_length=1100)

    class Meta:
        ordering = ["run_file", "start"]
        constraints = [
            models.UniqueConstraint(fields=["run_file", "start"], name="run_file_part_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run_file_id}@{self.start}+{self.size}"


class RunEvent(models.Model):
    """The run's activity: who changed what, when, old -> new."""

    class Kind(models.TextChoices):
        STATUS = "status"
        TAG = "tag"
        PROPERTY = "property"
        DESCRIPTION = "description"
        DISPLAY_NAME = "display_name"
        CANCEL = "cancel"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events", db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=255, blank=True)
    old = models.TextField(null=True, blank=True)  # noqa: DJ001 - NULL is "absent", not ""
    new = models.TextField(null=True, blank=True)  # noqa: DJ001 - NULL is "absent", not ""
    note = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["run", "created"], name="run_event_run_created"),
            # The workspace's status-change feed, newest first.
            models.Index(fields=["kind", "created", "id"], name="run_event_kind_created"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.field} {self.old} -> {self.new}"


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored (the secret is shown once)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The first characters of the token, to tell tokens apart in lists.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    # Tokens handed to submitted scripts may touch only their run and its descendants.
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="scoped_tokens"
    )
    # The one workspace the token reaches (None: every workspace of its user).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    expires = models.DateTimeField(null=True, blank=True)
    # Revoked tokens are kept, so that a request bearing one is told it was revoked.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The submitted run whose script got this token: it is revoked when that run ends.
    issued_for = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="script_tokens"
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["workspace", "-created"], name="api_token_ws_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows_run(self, run: Run) -> bool:
        """Whether this token may act on `run`: always, unless run-scoped; then only on its
        run and that run's descendants. The tree decides (same root, and below the scoped
        run in it), not the spelling: a run of an experiment named `<scoped id>_x` has an id
        starting with the scoped id, but another root."""
        if self.run_id is None:
            return True
        scope = self.run
        if run.root_id != scope.root_id:
            return False
        return run.pk == scope.pk or run.pk.startswith(f"{scope.pk}_")


ACTIVE_RUN = ~Q(status__in=TERMINAL)


class Invitation(models.Model):
    """An owner's offer of a role in a workspace; a member only once the invitee accepts.

    `invitee` is what the owner typed, a username or an email address, matched
    against the signed-in user when they look: the owner is never told whether
    an account of that name exists.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.CharField(max_length=254)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "invitee"], name="invitation_unique"),
        ]
        indexes = [models.Index(fields=["invitee"], name="invitation_invitee")]

    def __str__(self) -> str:
        return f"{self.invitee} to {self.workspace} ({self.role})"


class ComputeTarget(models.Model):
    """Where a workspace's submitted runs execute: `local` (the studio's `runworker`) or
    `celery` (workers on other machines consuming the queue named after the target).

    `local` always exists without a row (LOCAL_TARGET); rows are the others.
    """

    class Executor(models.TextChoices):
        LOCAL = "local"
        CELERY = "celery"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="compute_targets"
    )
    name = models.CharField(max_length=100, validators=[validate_name])
    executor = models.CharField(max_length=10, choices=Executor.choices, default=Executor.LOCAL)
    description = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="compute_target_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.executor})"


# The target every workspace has: the studio's own machine, served by `runworker`.
LOCAL_TARGET = "local"


class Worker(models.Model):
    """A worker process that executes submitted runs, as last seen.

    Local workers (`runworker`) serve every workspace (`workspace` NULL); Celery
    workers report to one workspace through the API. The compute targets page
    counts those seen in the last minute.
    """

    name = models.CharField(max_length=255)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="workers"
    )
    executor = models.CharField(max_length=10, choices=ComputeTarget.Executor.choices)
    # Names of the targets it serves.
    targets = models.JSONField(default=list)
    started = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["name", "executor"], name="worker_unique_name"),
        ]
        indexes = [models.Index(fields=["last_seen"], name="worker_last_seen")]

    def __str__(self) -> str:
        return self.name


VIEW_NAME_MAX = 100


class SavedView(models.Model):
    """A named run-list state (its query parameters, normalised) and its charts.

    `private` views are their owner's alone; `workspace` views every member can
    open. Deleting keeps the row as a tombstone (`deleted_at`), so an old link can
    say the view was deleted; every save keeps a SavedViewVersion.
    """

    class Visibility(models.TextChoices):
        PRIVATE = "private"
        WORKSPACE = "workspace"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=VIEW_NAME_MAX)
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    # runs.services.saved_views.normalise_state: {param: text or sorted list}, no defaults.
    state = models.JSONField(default=dict, blank=True)
    # runs.services.saved_views.normalise_charts: [{"type": ..., ...}].
    charts = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # A name is one owner's once per workspace; deleted views free theirs.
            models.UniqueConstraint(
                fields=["workspace", "owner", "name"],
                condition=Q(deleted_at__isnull=True),
                name="saved_view_unique_name",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "visibility", "name"], name="saved_view_ws_visibility"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.visibility == self.Visibility.WORKSPACE

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class SavedViewVersion(models.Model):
    """A view as one save left it: its history, and what a restore brings back."""

    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=VIEW_NAME_MAX)
    visibility = models.CharField(max_length=20, choices=SavedView.Visibility.choices)
    state = models.JSONField(default=dict, blank=True)
    charts = models.JSONField(default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the save was: "created", "saved", "renamed", "restored version 3", ...
    note = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["view", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["view", "version"], name="saved_view_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.view_id} v{self.version}"


# Alert rules and the notification outbox live with the rest of notifications.
from runs.notifications.models import AlertMute, AlertRule, Notification  # noqa: E402, F401
