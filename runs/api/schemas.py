"""Request and response bodies: the only place the API's JSON field names are spelled.

Fields are snake_case in Python and camelCase on the wire (`alias_generator`).
Request bodies accept the camelCase names only and refuse unknown fields, so a
typo is a 400 naming the field instead of a silently ignored value. They are
plain pydantic models (not ninja's Schema, which validates a model twice when
extra fields are forbidden): the metric batch is the ingest hot path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic.alias_generators import to_camel

from runs.keys import MAX_KEY, MAX_VALUE
from runs.markdown import MAX_DESCRIPTION_CHARS
from runs.models import NAME_RE
from runs.services.metrics import MAX_SERIES_PER_BATCH, MAX_TEXT_VALUE
from runs.services.runs import MAX_DISPLAY_NAME
from runs.status import Status


def _utc(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`: "2026-11-28T16:00:00Z" (microseconds when there are any)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Timestamps in documents: the same text in Python dumps and in JSON.
UtcTime = Annotated[datetime, PlainSerializer(_utc, return_type=str)]

# ---- the rules the services enforce, stated for clients ------------------------------
# The services check these (runs.keys, runs.models.NAME_RE, runs.services.files) and word
# the errors; the schema states them too, so a client generated from it meets no
# surprise 400. `_rules` only documents: it adds to the JSON schema, pydantic checks nothing.

# One line of text: no control characters (C0, DEL, C1).
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Text in lines (descriptions, messages, text metric values): tabs and line breaks too.
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# A key or metric name: one line, not blank.
NOT_BLANK = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
# A run's file: a relative path (no leading '/', no '..' part), one line, not blank.
FILE_PATH = r"^(?!\s*[/\\])(?!(?:.*[/\\])?\s*\.\.\s*(?:[/\\]|$))(?!\s*\.?\s*$)" + NOT_BLANK[1:]
# A tag or property filter of a list: `key` or `key=value`.
KEY_FILTER = (
    r"^[^=\x00-\x1f\x7f-\x9f]*[^=\s\x00-\x1f\x7f-\x9f][^=\x00-\x1f\x7f-\x9f]*"
    r"(=[^\x00-\x1f\x7f-\x9f]*)?$"
)
KEY_SCHEMA = {"minLength": 1, "maxLength": MAX_KEY, "pattern": NOT_BLANK}


def _rules(**schema: Any) -> Any:
    return Field(json_schema_extra=schema)


def _whole(value: Any) -> Any:
    """JSON Schema's integers include 2.0: a float without a fraction is that integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Experiment and compute target names.
Name = Annotated[str, _rules(pattern=NAME_RE.pattern, minLength=1, maxLength=100)]
Key = Annotated[str, _rules(**KEY_SCHEMA)]
ValueText = Annotated[StrictStr, _rules(maxLength=MAX_VALUE, pattern=ONE_LINE)]
DisplayName = Annotated[str, _rules(maxLength=MAX_DISPLAY_NAME, pattern=ONE_LINE)]
Description = Annotated[str, _rules(maxLength=MAX_DESCRIPTION_CHARS, pattern=LINES)]
FilePath = Annotated[str, _rules(maxLength=500, pattern=FILE_PATH)]
KeyFilter = Annotated[str, _rules(pattern=KEY_FILTER)]
TextPoint = Annotated[StrictStr, _rules(maxLength=MAX_TEXT_VALUE, pattern=LINES)]

# Tag and property values are text; numbers and booleans are accepted and kept as text.
TagValue = ValueText | StrictBool | StrictInt | StrictFloat | None
PropertyValue = ValueText | StrictBool | StrictInt | StrictFloat
Tags = Annotated[dict[str, TagValue], _rules(propertyNames=KEY_SCHEMA)]
Properties = Annotated[dict[str, PropertyValue], _rules(propertyNames=KEY_SCHEMA)]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Unix seconds up to the last second of year 9999.
MAX_UNIX_TIME = 253_402_300_799.0
MAX_IDEMPOTENCY_KEY = 100
# Thirty days: a run's first request can wait that long for a studio that is away.
MAX_STARTED_AGO = 30 * 86_400.0
MAX_ERROR_CODE = 100
MAX_ERROR_MESSAGE = 10_000
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100
MAX_PAGE = 1_000_000

# Lifecycle moves POST .../status accepts; endings have their own endpoints.
LIFECYCLE_STATUSES = (
    Status.QUEUED,
    Status.PREPARING,
    Status.STARTING,
    Status.RUNNING,
    Status.FINALIZING,
)


class In(BaseModel):
    """A request body: camelCase names only, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")


class Out(BaseModel):
    """A response body, built from Python names, written in camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


# ---- errors -------------------------------------------------------------------------


class ErrorDetail(Out):
    code: str
    message: str


class ErrorOut(Out):
    """Every 4xx answer."""

    error: ErrorDetail


# ---- the run document ---------------------------------------------------------------


class RunError(Out):
    code: str
    message: str


class RunDocument(Out):
    """A run, the same object in the API, the CLI and the SDK's get_details()."""

    run_id: str
    experiment: str
    display_name: str
    status: str
    parent_run_id: str | None
    root_run_id: str
    target: str
    submitted_by: str | None
    created_utc: UtcTime
    start_time_utc: UtcTime | None
    end_time_utc: UtcTime | None
    tags: dict[str, str | None]
    properties: dict[str, str]
    description: str
    # The latest value of each metric: a number (None when it is not finite), or the text
    # of a text series.
    metrics: dict[str, float | str | None]
    error: RunError | None
    url: str


class RunListOut(Out):
    runs: list[RunDocument]
    page: int
    per_page: int
    total: int
    has_more: bool


class RunsOut(Out):
    runs: list[RunDocument]


# ---- workspaces and experiments -----------------------------------------------------


class WorkspaceOut(Out):
    name: str
    role: str


class WorkspacesOut(Out):
    workspaces: list[WorkspaceOut]


class ExperimentIn(In):
    name: Name


class ExperimentOut(Out):
    name: str
    created: UtcTime
    run_count: int
    last_activity: UtcTime | None


class ExperimentsOut(Out):
    experiments: list[ExperimentOut]


# ---- run writes ---------------------------------------------------------------------


class RunCreateIn(In):
    experiment: Name
    display_name: DisplayName = ""
    # Completed, Failed and Canceled only with endTimeUtc (an imported run).
    status: Literal[
        Status.RUNNING,
        Status.NOT_STARTED,
        Status.QUEUED,
        Status.COMPLETED,
        Status.FAILED,
        Status.CANCELED,
    ] = Status.RUNNING
    target: str = Field(default="local", min_length=1, max_length=100)
    description: Description = ""
    tags: Tags | None = None
    properties: Properties | None = None
    # Imports from another tracker: when the run started and ended (ISO 8601 with a
    # time zone). An end time needs a start time and a final status.
    start_time_utc: AwareDatetime | None = None
    end_time_utc: AwareDatetime | None = None
    # A run created after it started (the SDK creates a run with its first request): the
    # seconds between its start and this request, by the client's clock; the studio
    # dates the start from its own. Not with startTimeUtc.
    started_seconds_ago: float | None = Field(default=None, ge=0, le=MAX_STARTED_AGO)
    # The id the client gave the run: `<experiment>_<seconds>_<8 hex digits>`. A request
    # whose answer was lost can then be sent again: the second gets a 409.
    run_id: str | None = Field(default=None, max_length=255)
    # Metric points stored with the run, in the same transaction.
    metrics: MetricBatchIn | None = None
    # Then mark it Completed, as POST .../complete would: a short run in one request.
    complete: bool = False


class RunUpdateIn(In):
    display_name: DisplayName | None = None
    description: Description | None = None


class StatusIn(In):
    status: Annotated[str, _rules(enum=[s.value for s in LIFECYCLE_STATUSES])]


class CancelIn(In):
    immediate: StrictBool = False


class TagsIn(In):
    set_: Tags | None = Field(default=None, alias="set")
    remove: list[Key] | None = None


class TagsOut(Out):
    tags: dict[str, str | None]


class PropertiesIn(In):
    properties: Properties


class PropertiesOut(Out):
    properties: dict[str, str]


class ChildrenIn(In):
    count: Annotated[int, Field(ge=1, le=1000, strict=True), BeforeValidator(_whole)] | None = None
    display_names: Annotated[list[DisplayName], _rules(minItems=1, maxItems=1000)] | None = None
    tag_key: Key | None = None
    tag_values: Annotated[list[PropertyValue], _rules(minItems=1, maxItems=1000)] | None = None


class HeartbeatOut(Out):
    status: str
    cancel_requested: bool


MAX_HEARTBEAT_RUNS = 1000


class HeartbeatsIn(In):
    run_ids: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        min_length=1, max_length=MAX_HEARTBEAT_RUNS
    )


class HeartbeatsOut(Out):
    runs: dict[str, HeartbeatOut]
    # Ids not found in the workspace (or out of a run-scoped token's reach).
    missing: list[str]


# ---- metrics ------------------------------------------------------------------------

Step = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX), BeforeValidator(_whole)]
# A step in a query string, where every value is text.
StepText = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
UnixTime = Annotated[float, Field(strict=True, ge=0, le=MAX_UNIX_TIME, allow_inf_nan=False)]


class SeriesBody(In):
    """The points of one metric, column by column (no object per point): numbers, or the
    strings and booleans of a text series."""

    name: Key
    values: list[StrictFloat] | list[TextPoint | StrictBool]
    steps: list[Step] | None = None
    times: list[UnixTime] | None = None


class MetricBatchIn(In):
    # An idempotency key: a batch sent again with the same key stores nothing.
    key: str = Field(default="", max_length=MAX_IDEMPOTENCY_KEY)
    series: Annotated[list[SeriesBody], _rules(maxItems=MAX_SERIES_PER_BATCH)]


class RunSeriesBody(In):
    run_id: str = Field(min_length=1, max_length=255)
    series: Annotated[list[SeriesBody], _rules(maxItems=MAX_SERIES_PER_BATCH)]


class MetricBatchesIn(In):
    """The points of several runs in one request (all stored, or none)."""

    key: str = Field(default="", max_length=MAX_IDEMPOTENCY_KEY)
    runs: list[RunSeriesBody] = Field(min_length=1)


class EndIn(In):
    """The end of a run (complete): optionally with its last metric points, stored first."""

    metrics: MetricBatchIn | None = None


class FailIn(In):
    error_code: Annotated[str, _rules(pattern=ONE_LINE)] | None = Field(
        default=None, max_length=MAX_ERROR_CODE
    )
    message: Annotated[str, _rules(pattern=LINES)] = Field(default="", max_length=MAX_ERROR_MESSAGE)
    details: Any = None
    metrics: MetricBatchIn | None = None


class MetricBatchOut(Out):
    stored: int
    duplicate: bool


class LatestMetricOut(Out):
    # None when the last value is not a finite number; text for a text series.
    value: float | str | None
    # "number", or "text" for a series of strings and booleans.
    kind: str = "number"
    step: int
    # Unix seconds, as metric times are sent.
    time: float
    count: int


class MetricsOut(Out):
    metrics: dict[str, LatestMetricOut]


class SeriesOut(Out):
    name: str
    steps: list[int]
    # Values that are not finite numbers (NaN, infinities) are None: JSON has no NaN.
    # A text series has strings and booleans.
    values: list[float | None] | list[str | bool]
    times: list[float]


class RunSeriesOut(Out):
    run_id: str
    display_name: str
    steps: list[int]
    values: list[float | None]
    # Points of the run in the step range before downsampling.
    total: int


class RunsSeriesOut(Out):
    name: str
    series: list[RunSeriesOut]


# ---- files --------------------------------------------------------------------------


class FileOut(Out):
    name: str
    kind: str
    size: int
    updated: UtcTime


class FilesOut(Out):
    files: list[FileOut]


# ---- query strings ------------------------------------------------------------------


class QueryParams(BaseModel):
    """A query string: camelCase names; unknown parameters are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)


class ChildrenQuery(QueryParams):
    recursive: bool = False
    # Each of these may repeat: ?status=Running&status=Queued, ?tag=quality=great&tag=flagged.
    status: list[Status] = []
    tag: list[KeyFilter] = []
    property_: list[KeyFilter] = Field(default=[], alias="property")
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)


class RunListQuery(ChildrenQuery):
    experiment: str | None = None
    parent: str | None = None
    include_children: bool = False
    # The filter language (runs.query).
    filter: str | None = None
    # The run list page's sort keys: created, status, duration, metrics.<name>, ...;
    # - for descending. Newest first when absent.
    sort: str | None = Field(default=None, max_length=300)


class SeriesQuery(QueryParams):
    name: Key
    start_step: StepText | None = None
    end_step: StepText | None = None


class RunsSeriesQuery(QueryParams):
    # Comma-separated run ids (at most MAX_SERIES_RUNS).
    runs: str = Field(min_length=1, max_length=30_000)
    name: Key
    # Each run's line is downsampled to at most this many points (min/max per bucket).
    max_points: int = Field(default=2000, ge=4, le=100_000)
    start_step: StepText | None = None
    end_step: StepText | None = None


class FileQuery(QueryParams):
    name: FilePath
    # Bytes to skip: a tail reader asks from where it stopped.
    offset: int = Field(default=0, ge=0, le=INT64_MAX)


# ---- submitted runs and compute targets --------------------------------------------


class SubmitSpec(In):
    """The `spec` part of a submission (multipart, beside the `snapshot` file)."""

    experiment: Name | None = None
    script: FilePath
    arguments: list[StrictStr] = Field(default=[], max_length=200)
    target: str = Field(default="local", min_length=1, max_length=100)
    display_name: DisplayName = ""
    tags: Tags | None = None


class ClaimIn(In):
    worker: Annotated[str, _rules(pattern=ONE_LINE)] = Field(min_length=1, max_length=255)


class ClaimOut(Out):
    """What a worker needs to execute a run it claimed."""

    run: RunDocument
    script: str
    arguments: list[str]
    # A token for the script, limited to this run and its descendants.
    token: str


class FinishIn(In):
    status: Literal[Status.COMPLETED, Status.FAILED, Status.CANCELED]
    error: FailIn | None = None


class LogQuery(QueryParams):
    name: FilePath
    offset: int = Field(ge=0, le=INT64_MAX)


class LogOut(Out):
    name: str
    # The log's size after the append: the offset of the next one.
    size: int


class WorkerOut(Out):
    name: str
    executor: str
    last_seen: UtcTime


class ComputeTargetOut(Out):
    name: str
    executor: str
    description: str
    # Runs waiting for a worker, and runs executing now.
    queued: int
    running: int
    # Workers seen in the last minute.
    workers: list[WorkerOut]


class ComputeTargetsOut(Out):
    compute_targets: list[ComputeTargetOut]


class ComputeTargetIn(In):
    name: Name
    executor: Literal["local", "celery"] = "local"
    description: Annotated[str, _rules(pattern=LINES)] = Field(default="", max_length=500)


class WorkerIn(In):
    name: Annotated[str, _rules(pattern=ONE_LINE)] = Field(min_length=1, max_length=255)
    targets: list[Annotated[str, Field(min_length=1, max_length=100), _rules(pattern=ONE_LINE)]] = (
        Field(max_length=100)
    )
