"""The workspace's settings area: one place for members, API tokens and alerts.

`/w/<ws>/settings/` opens its first tab; each tab is a page of its own
(runs.views.members, tokens, alerts) sharing the tab bar
(templates/runs/includes/_settings_nav.html).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from runs import selectors
from runs.http import StudioRequest


@login_required
@require_GET
def settings_index(request: StudioRequest, workspace: str) -> HttpResponse:
    """The settings area opens on its members tab."""
    ws = selectors.workspace_for_member(request.user, workspace)
    return redirect("runs:members", ws.slug)


@login_required
@require_GET
def members_moved(request: StudioRequest, workspace: str) -> HttpResponse:
    """The members page's first address: it moved into the settings area."""
    ws = selectors.workspace_for_member(request.user, workspace)
    return redirect("runs:members", ws.slug, permanent=True)
