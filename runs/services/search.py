"""The free-text column of runs (Run.search_text), kept in step with what it holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

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


def _tags_text(tags: dict[str, str | None]) -> str:
    """The end of a search text that holds these tags (as run_search_text writes it)."""
    parts = [p for key, value in sorted(tags.items()) for p in (key, value or "") if p]
    return "".join("\n" + p for p in parts).lower()


# The tags are the end of the text: swapped in place where the text ends with the old
# ones. Written once: the ORM spent more time building this UPDATE than SQLite running it.
_RETAG_SQL = (
    'UPDATE "runs_run" SET "search_text" ='
    ' SUBSTR("search_text", 1, LENGTH("search_text") - CAST(%s AS INTEGER)) || %s'
    ' WHERE "id" = %s'
    ' AND SUBSTR("search_text", LENGTH("search_text") - CAST(%s AS INTEGER) + 1) = %s'
)


def run_search_text_retag(
    *, run_id: str, old: dict[str, str | None], new: dict[str, str | None]
) -> None:
    """Swap the tags at the end of the run's search text, without reading the row.

    One UPDATE that keeps the rest of the text; it checks that the text ends with the
    old tags, and where it does not (written some other way) the text is rebuilt.
    """
    before, after = _tags_text(old), _tags_text(new)
    if before == after:
        return
    with connection.cursor() as cursor:
        cursor.execute(_RETAG_SQL, [len(before), after, run_id, len(before), before])
        swapped = cursor.rowcount
    if not swapped:
        runs_refresh_search_text(run_ids=[run_id], tags=new)
