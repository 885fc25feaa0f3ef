"""The run document: one shape for the API, the CLI and the SDK's get_details()."""

from __future__ import annotations

import math

from django.conf import settings
from django.urls import reverse

from runs.api.schemas import RunDocument, RunError
from runs.models import Run


def run_url(workspace_slug: str, run_id: str) -> str:
    """The run's studio page, absolute (settings.STUDIO_BASE_URL)."""
    return settings.STUDIO_BASE_URL + reverse("runs:run-detail", args=[workspace_slug, run_id])


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those are written as null."""
    return value if value is not None and math.isfinite(value) else None


def run_document_model(
    run: Run,
    *,
    tags: dict[str, str | None] | None = None,
    properties: dict[str, str] | None = None,
    metrics: dict[str, float | str | None] | None = None,
) -> RunDocument:
    """The document as a schema object (what API operations return).

    Reads only what selectors.run_get(for_document=True) and selectors.run_search
    load with the run: workspace, experiment and submitter joined, tags,
    properties and latest metrics read in one query (`run.document_parts`) or
    prefetched for a list (selectors.RUN_DOCUMENT_PREFETCH).
    A caller that knows the tags, properties or metrics (a run just created) passes
    them instead.
    """
    parts = getattr(run, "document_parts", None)  # selectors.run_get(for_document=True)
    if tags is None:
        tags = parts.tags if parts else {t.key: t.value for t in run.tags.all()}
    if properties is None:
        properties = parts.properties if parts else {p.key: p.value for p in run.properties.all()}
    if metrics is None:
        metrics = (
            {k: v if isinstance(v, str) else finite_or_none(v) for k, v in parts.metrics.items()}
            if parts
            else {
                m.name: m.text if m.text is not None else finite_or_none(m.value)
                for m in run.latest_metrics.all()
            }
        )
    error = run.error_document()
    return RunDocument(
        run_id=run.id,
        experiment=run.experiment.name,
        display_name=run.display_name,
        status=run.status,
        parent_run_id=run.parent_id,
        root_run_id=run.root_id,
        target=run.compute_target,
        submitted_by=run.submitted_by.get_username() if run.submitted_by else None,
        created_utc=run.created,
        start_time_utc=run.started,
        end_time_utc=run.ended,
        tags=tags,
        properties=properties,
        description=run.description,
        metrics=metrics,
        error=RunError(**error) if error else None,
        url=run_url(run.workspace.slug, run.id),
    )


def run_document(run: Run) -> dict:
    """The run document as JSON-ready data (camelCase keys, times as ISO 8601 text)."""
    return run_document_model(run).model_dump(mode="json")
