"""Writes for workspaces, memberships and experiments."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from runs.exceptions import ValidationFailed
from runs.models import Experiment, Membership, Role, Workspace, validate_name


def _check_name(kind: str, name: str) -> None:
    try:
        validate_name(name)
    except ValidationError as exc:
        raise ValidationFailed(f"{kind} name: {exc.messages[0]}") from None


def workspace_create(*, slug: str, name: str = "", owner=None) -> Workspace:
    """Create a workspace; `owner`, if given, becomes its first owner."""
    _check_name("workspace", slug)
    with transaction.atomic():
        ws, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if owner is not None:
            membership_set(workspace=ws, user=owner, role=Role.OWNER)
    return ws


def membership_set(*, workspace: Workspace, user, role: str) -> Membership:
    """Add `user` to `workspace` with `role`, or change the role of a member.

    Refuses (ValidationFailed) to demote the workspace's last owner.
    """
    with transaction.atomic():
        if Role(role) != Role.OWNER:
            _check_keeps_an_owner(workspace, user, "change the role of")
        membership, _ = Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": Role(role)}
        )
    return membership


@transaction.atomic
def membership_remove(*, workspace: Workspace, user) -> None:
    """Take `user` out of `workspace`; the last owner cannot be removed (ValidationFailed)."""
    _check_keeps_an_owner(workspace, user, "remove")
    Membership.objects.filter(workspace=workspace, user=user).delete()


def _check_keeps_an_owner(workspace: Workspace, user, verb: str) -> None:
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Role.OWNER)
        .values_list("user_id", flat=True)
    )
    if owners == [user.pk]:
        raise ValidationFailed(
            f"cannot {verb} {user.get_username()}: they are the last owner of {workspace.slug}; "
            "make someone else an owner first"
        )


def experiment_get_or_create(*, workspace: Workspace, name: str) -> Experiment:
    """The workspace's experiment called `name`, created on first use."""
    _check_name("experiment", name)
    try:
        with transaction.atomic():
            exp, _ = Experiment.objects.get_or_create(workspace=workspace, name=name)
    except IntegrityError:  # created by a concurrent request in between
        exp = Experiment.objects.get(workspace=workspace, name=name)
    return exp


def user_get_or_create(*, username: str):
    """The user called `username`, created (without a usable password) when missing."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
