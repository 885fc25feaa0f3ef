"""The free-text column of runs (Run.search_text), kept in step with what it holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from runs.models import Run, Tag, run_search_text

BATCH = 500


def runs_refresh_search_text(
    *, run_ids: Iterable[str], tags: dict[str, str | None] | None = None
) -> None:
    """Rewrite the search text of the runs from their rows and tags as stored now.

    `tags` (one run only) are that run's tags when the caller already has them.
    The rows are locked first (PostgreSQL), so two writers cannot interleave.
    """
    ids = list(dict.fromkeys(run_ids))
    if tags is not None and len(ids) != 1:
        raise ValueError("tags= is for a single run")
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = list(
            Run.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list(
                "pk", "display_name", "description", "experiment__name", "submitted_by__username"
            )
        )
        if tags is not None:
            by_run = {chunk[0]: tags}
        else:
            by_run: dict[str, dict[str, str | None]] = defaultdict(dict)
            for run_id, key, value in (
                Tag.objects.filter(run_id__in=chunk)
                .order_by("key")
                .values_list("run_id", "key", "value")
            ):
                by_run[run_id][key] = value
        updates = [
            Run(
                pk=pk,
                search_text=run_search_text(
                    run_id=pk,
                    display_name=name,
                    description=description,
                    experiment=experiment,
                    submitter=submitter,
                    tags=dict(sorted(by_run.get(pk, {}).items())),
                ),
            )
            for pk, name, description, experiment, submitter in rows
        ]
        if len(updates) == 1:
            Run.objects.filter(pk=updates[0].pk).update(search_text=updates[0].search_text)
        else:
            Run.objects.bulk_update(updates, ["search_text"])
