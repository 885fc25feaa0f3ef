"""Properties: immutable key/value facts about a run."""

from __future__ import annotations

from django.db import transaction

from runs.exceptions import PropertyConflict, ValidationFailed
from runs.models import Property, Run, RunEvent
from runs.services.tags import MAX_TAGS_PER_REQUEST, check_key, check_value


def check_properties(properties: dict[str, str]) -> dict[str, str]:
    """Properties to add, checked, at most MAX_TAGS_PER_REQUEST of them."""
    if len(properties) > MAX_TAGS_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_TAGS_PER_REQUEST} properties per request")
    return {
        check_key("property", k): check_value("property", k, v, nullable=False)
        for k, v in properties.items()
    }


@transaction.atomic
def run_add_properties(
    *, run: Run, properties: dict[str, str], actor=None, record: bool = True
) -> dict[str, str]:
    """Add properties; the same value again is a no-op, a different one a PropertyConflict."""
    clean = check_properties(properties)
    current = dict(Property.objects.filter(run=run).values_list("key", "value"))
    for key, value in clean.items():
        if key in current and current[key] != value:
            raise PropertyConflict(key, current[key], value)
    new = {k: v for k, v in clean.items() if k not in current}
    Property.objects.bulk_create(Property(run=run, key=k, value=v) for k, v in new.items())
    if record and new:
        RunEvent.objects.bulk_create(
            RunEvent(run=run, actor=actor, kind="property", field=k, old=None, new=v)
            for k, v in new.items()
        )
    current.update(new)
    return dict(sorted(current.items()))
