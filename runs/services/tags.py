"""Tags: mutable key/value labels; a key-only tag has the value None."""

from __future__ import annotations

from django.db import transaction

from runs.exceptions import ValidationFailed
from runs.models import Run, RunEvent, Tag
from runs.services.search import run_search_text_retag

MAX_KEY = 255
MAX_VALUE = 1000
MAX_TAGS_PER_REQUEST = 500


def check_key(kind: str, key) -> str:
    """A tag or property key: a non-empty string of at most 255 characters."""
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(f"{kind} keys must be non-empty strings, not {key!r}")
    if len(key) > MAX_KEY:
        raise ValidationFailed(
            f"{kind} key {key[:40]!r}… is {len(key)} characters; the limit is {MAX_KEY}"
        )
    if any(ord(c) < 32 for c in key):
        raise ValidationFailed(f"{kind} key {key!r} contains a control character")
    return key.strip()


def check_value(kind: str, key: str, value, *, nullable: bool) -> str | None:
    """A tag or property value: text (numbers and booleans are turned into text)."""
    if value is None:
        if nullable:
            return None
        raise ValidationFailed(f"{kind} {key!r} needs a value")
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValidationFailed(
            f"{kind} {key!r}: values must be text or numbers, not {type(value).__name__}"
        )
    if len(value) > MAX_VALUE:
        raise ValidationFailed(
            f"{kind} {key!r} value is {len(value)} characters; the limit is {MAX_VALUE}"
        )
    return value


def check_tags(tags: dict[str, str | None]) -> dict[str, str | None]:
    """Tags to set, checked (keys and values), at most MAX_TAGS_PER_REQUEST of them."""
    if len(tags) > MAX_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_TAGS_PER_REQUEST} tag changes per request")
    return {check_key("tag", k): check_value("tag", k, v, nullable=True) for k, v in tags.items()}


@transaction.atomic
def run_set_tags(
    *,
    run: Run,
    tags: dict[str, str | None] | None = None,
    remove: list[str] | None = None,
    actor=None,
    record: bool = True,
) -> dict[str, str | None]:
    """Set and/or remove tags in one transaction; returns the run's tags after."""
    tags = tags or {}
    remove = remove or []
    if len(tags) + len(remove) > MAX_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_TAGS_PER_REQUEST} tag changes per request")
    clean = {check_key("tag", k): check_value("tag", k, v, nullable=True) for k, v in tags.items()}
    drop = {check_key("tag", k) for k in remove}
    both = drop & clean.keys()
    if both:
        raise ValidationFailed(f"tag {sorted(both)[0]!r} is both set and removed")
    current = dict(Tag.objects.filter(run=run).values_list("key", "value"))
    events = []
    new = [Tag(run=run, key=k, value=v) for k, v in clean.items() if k not in current]
    changed = [k for k, v in clean.items() if k in current and current[k] != v]
    Tag.objects.bulk_create(new)
    for k in changed:
        Tag.objects.filter(run=run, key=k).update(value=clean[k])
    gone = [k for k in drop if k in current]
    if gone:
        Tag.objects.filter(run=run, key__in=gone).delete()
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
        RunEvent.objects.bulk_create(events)
    before = dict(current)
    current.update(clean)
    for k in gone:
        current.pop(k)
    if new or changed or gone:
        run_search_text_retag(run_id=run.pk, old=before, new=current)
    return dict(sorted(current.items()))
