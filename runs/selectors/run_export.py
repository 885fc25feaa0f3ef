"""The run list as rows for export: every run the list's conditions select, in its order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import F

from runs.list_state import ListState
from runs.models import Experiment, LatestMetric, Property, Run, Tag, Workspace
from runs.selectors.list_conditions import match_q
from runs.selectors.list_rows import ROW_FIELDS, TagValue
from runs.selectors.list_sql import order_by

EXPORT_LIMIT = 100_000
_CHUNK = 1_000


def run_export_rows(
    *, workspace: Workspace, state: ListState, experiment: Experiment | None = None
) -> Iterator[tuple[Run, list[TagValue], dict[str, object]]]:
    """(run, tags, {column key: value}) for each exported run, at most EXPORT_LIMIT.

    Without a condition: the top-level runs, as the table lists them. With one:
    every run that matches (children included, flat), since a file has no tree.
    Four queries per thousand runs: ids, runs, tags, and metric + property values.
    The runs carry what a row writes (their experiment's name and submitter's
    username as `experiment_name` and `submitter_name`), tags are tuples: model
    objects for them cost most of an export's time.
    """
    qs = Run.objects.filter(workspace=workspace)
    if experiment is not None:
        qs = qs.filter(experiment=experiment)
    qs = qs.filter(match_q(state)) if state.filtering else qs.filter(parent__isnull=True)
    ids = list(order_by(qs, state.sort).values_list("pk", flat=True)[:EXPORT_LIMIT])
    metric_names = [c.name for c in state.columns if c.kind == "metric"]
    property_keys = [c.name for c in state.columns if c.kind == "property"]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        runs = (
            Run.objects.filter(pk__in=chunk)
            .only(*ROW_FIELDS, "description")
            .annotate(
                experiment_name=F("experiment__name"),
                submitter_name=F("submitted_by__username"),
            )
        )
        by_id = {run.pk: run for run in runs}
        tags: dict[str, list[TagValue]] = defaultdict(list)
        for run_id, key, value in (
            Tag.objects.filter(run_id__in=chunk)
            .order_by("key")
            .values_list("run_id", "key", "value")
        ):
            tags[run_id].append(TagValue(key, value))
        values: dict[str, dict[str, object]] = defaultdict(dict)
        if metric_names:
            for run_id, name, value, text in LatestMetric.objects.filter(
                run_id__in=chunk, name__in=metric_names
            ).values_list("run_id", "name", "value", "text"):
                values[run_id][f"metrics.{name}"] = text if value is None else value
        if property_keys:
            for run_id, key, value in Property.objects.filter(
                run_id__in=chunk, key__in=property_keys
            ).values_list("run_id", "key", "value"):
                values[run_id][f"properties.{key}"] = value
        for pk in chunk:
            if pk in by_id:
                yield by_id[pk], tags.get(pk, []), values.get(pk, {})
