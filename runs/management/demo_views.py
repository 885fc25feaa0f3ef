"""Saved views of the demo workspace: shared and private ones, charts, a pinned default.

Made through the saved-view services, as people make them, so that `make run`
shows the feature: the Views menu lists them, All runs opens the default.
"""

from __future__ import annotations

from runs.models import Membership, Workspace
from runs.services import saved_views as view_services

SHARED = "workspace"
PRIVATE = "private"

# (owner, name, visibility, state, charts); the first is pinned as the default.
VIEWS = [
    (
        "demo",
        "MNIST leaderboard",
        SHARED,
        {
            "experiment": ["mnist-cnn"],
            "sort": "-metrics.accuracy",
            "cols": [
                "id",
                "status",
                "metrics.accuracy",
                "metrics.loss",
                "properties.lr",
                "properties.optimizer",
                "tags",
            ],
        },
        [
            {"type": "line", "metric": "accuracy", "title": "Accuracy over steps"},
            {"type": "scatter", "x": "properties.lr", "y": "metrics.accuracy", "logX": True},
            {"type": "bar", "metric": "accuracy"},
        ],
    ),
    (
        "demo",
        "Failures to look at",
        SHARED,
        {"status": ["Failed"], "sort": "-created"},
        [],
    ),
    (
        "alice",
        "Tokenizer sweep by bits per byte",
        SHARED,
        {
            "experiment": ["tokenizer-sweep"],
            "sort": "metrics.bits_per_byte",
            "cols": ["id", "status", "metrics.bits_per_byte", "duration", "tags"],
        },
        [{"type": "line", "metric": "bits_per_byte", "smoothing": 0.6}],
    ),
    (
        "alice",
        "My running and queued runs",
        PRIVATE,
        {"status": ["Queued", "Running"], "submitter": ["alice"]},
        [],
    ),
    (
        "demo",
        "Worth another look",
        PRIVATE,
        {"filter": "tags.`worth another look` exists or tags.quality = 'fantastic run'"},
        [],
    ),
    (
        "bob",
        "ResNet fine-tunes",
        PRIVATE,
        {"experiment": ["resnet-finetune"], "sort": "-metrics.top1"},
        [{"type": "line", "metric": "top1"}],
    ),
]


def seed_saved_views(workspace: Workspace) -> int:
    """The demo's saved views (once: none is made where views exist); how many were made."""
    members = {
        m.user.username: m
        for m in Membership.objects.filter(workspace=workspace).select_related("user", "workspace")
    }
    if workspace.saved_views.exists():
        return 0
    made = []
    for owner, name, visibility, state, charts in VIEWS:
        actor = members.get(owner)
        if actor is None:
            continue
        made.append(
            view_services.saved_view_create(
                actor=actor, name=name, visibility=visibility, state=state, charts=charts
            )
        )
    if made:
        view_services.saved_view_set_default(
            workspace=workspace, actor=members["demo"], view=made[0]
        )
    return len(made)
