"""`{{ status|status_label }}`: a run status as people read it ("Cancel Requested")."""

from django import template

from runs.status import Status

register = template.Library()
LABELS = dict(Status.choices)


@register.filter
def status_label(status: str) -> str:
    return LABELS.get(status, status)
