"""Tags: mutable key/value labels; a key-only tag has the value None."""

from __future__ import annotations

from django.db import connection, transaction

from runs.exceptions import ValidationFailed
from runs.keys import MAX_KEY, MAX_VALUE, check_key, check_value
from runs.models import Run, RunEvent, Tag
from runs.services.search import run_search_text_retag
from runs.writes import Insert

# The key and value rules live in runs.keys (the run list's state checks names too).
__all__ = [
    "MAX_KEY",
    "MAX_TAGS_PER_REQUEST",
    "MAX_VALUE",
    "check_key",
    "check_tags",
    "check_value",
    "run_set_tags",
]

MAX_TAGS_PER_REQUEST = 500
# Written once (runs.writes): a tag change is a per-run API call.
_INSERT_TAG = Insert(Tag)
_INSERT_EVENT = Insert(RunEvent)


def check_tags(tags: dict[str, str | None]) -> dict[str, str | None]:
    """Tags to set, checked (keys and values), at most MAX_TAGS_PER_REQUEST of them."""
    if len(tags) > MAX_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_TAGS_PER_REQUEST} tag changes per request")
    return {check_key("tag", k): check_value("tag", k, v, nullable=True) for k, v in tags.items()}


def run_set_tags(
    *,
    run: Run,
    tags: dict[str, str | None] | None = None,
    remove: list[str] | None = None,
    actor=None,
    record: bool = True,
    current: dict[str, str | None] | None = None,
) -> dict[str, str | None]:
    """Set and/or remove tags in one transaction; returns the run's tags after.

    `current`: the run's tags as the caller read them inside its own transaction
    (with the run: selectors.run_with_tags), else they are read here. Within a
    caller's transaction no savepoint is taken (two statements less): input is
    checked before anything is written, and a database error fails that transaction.
    """
    tags = tags or {}
    remove = remove or []
    if len(tags) + len(remove) > MAX_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_TAGS_PER_REQUEST} tag changes per request")
    clean = {check_key("tag", k): check_value("tag", k, v, nullable=True) for k, v in tags.items()}
    drop = {check_key("tag", k) for k in remove}
    both = drop & clean.keys()
    if both:
        raise ValidationFailed(f"tag {sorted(both)[0]!r} is both set and removed")
    with transaction.atomic(savepoint=False):
        return _write_tags(run, clean, drop, actor, record, current)


def _set_tag_value(run_id: str, key: str, value: str | None) -> None:
    """Give the run's tag `key` a new value."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {q(Tag._meta.db_table)} SET {q('value')} = %s "  # noqa: S608 - names
            f"WHERE {q('run_id')} = %s AND {q('key')} = %s",
            [value, run_id, key],
        )


def _delete_tags(run_id: str, keys: list[str]) -> None:
    """Delete these tags of the run (nothing refers to a tag row)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {q(Tag._meta.db_table)} WHERE {q('run_id')} = %s "  # noqa: S608 - names
            f"AND {q('key')} IN ({', '.join(['%s'] * len(keys))})",
            [run_id, *keys],
        )


def _write_tags(
    run: Run,
    clean: dict[str, str | None],
    drop: set[str],
    actor,
    record: bool,
    current: dict[str, str | None] | None,
) -> dict[str, str | None]:
    """run_set_tags' writes: the tags, their activity rows, the search text's tags."""
    if current is None:
        current = dict(Tag.objects.filter(run=run).values_list("key", "value"))
    else:
        current = dict(current)
    events = []
    new = [Tag(run=run, key=k, value=v) for k, v in clean.items() if k not in current]
    changed = [k for k, v in clean.items() if k in current and current[k] != v]
    _INSERT_TAG.save(new)
    for k in changed:
        _set_tag_value(run.pk, k, clean[k])
    gone = [k for k in drop if k in current]
    if gone:
        _delete_tags(run.pk, gone)
    if record:
        events += [
            RunEvent(run=run, actor=actor, kind="tag", field=t.key, old=None, new=t.value)
            for t in new
        ]
        events += [
            RunEvent(run=run, actor=actor, kind="tag", field=k, old=current[k], new=clean[k])
            for k in changed
        ]
        events += [
            RunEvent(
                run=run, actor=actor, kind="tag", field=k, old=current[k], new=None, note="removed"
            )
            for k in gone
        ]
        _INSERT_EVENT.save(events)
    before = dict(current)
    current.update(clean)
    for k in gone:
        current.pop(k)
    if new or changed or gone:
        run_search_text_retag(run_id=run.pk, old=before, new=current)
    return dict(sorted(current.items()))
