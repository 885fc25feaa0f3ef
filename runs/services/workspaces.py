"""Writes for workspaces, memberships and experiments."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from runs.exceptions import NotFound, ValidationFailed
from runs.models import Experiment, Invitation, Membership, Role, Workspace, validate_name
from runs.selectors.experiments import experiment_by_name
from runs.text import check_text

INVITEE_MAX = 254


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
    found = experiment_by_name(workspace_id=workspace.pk, name=name)
    if found is not None:
        return found
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


def invitation_create(*, workspace: Workspace, invitee: str, role: str, invited_by) -> Invitation:
    """Invite whoever has the username or email address `invitee` to `workspace`.

    Nothing here looks accounts up: the owner learns nothing about which names
    exist, and the invitee becomes a member only by accepting. Inviting again
    changes the offered role.
    """
    invitee = " ".join(check_text(invitee or "", what="the invitee").split())
    if not invitee:
        raise ValidationFailed("whom should we invite? Enter a username or an email address")
    if len(invitee) > INVITEE_MAX or any(ord(c) < 32 or ord(c) == 127 for c in invitee):
        raise ValidationFailed(
            f"{invitee[:40]!r} is not a username or an email address "
            f"(at most {INVITEE_MAX} characters, no control characters)"
        )
    if "@" in invitee:
        invitee = invitee.lower()
    if Membership.objects.filter(workspace=workspace, user__username=invitee).exists():
        raise ValidationFailed(f"{invitee} is already a member; change their role in the table")
    invitation, _ = Invitation.objects.update_or_create(
        workspace=workspace,
        invitee=invitee,
        defaults={"role": Role(role), "invited_by": invited_by},
    )
    return invitation


def _addressed_to(invitation: Invitation, user) -> bool:
    email = (user.email or "").lower()
    return invitation.invitee == user.get_username() or bool(email and invitation.invitee == email)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """The invitee joins the workspace with the offered role (a member already keeps a
    higher role); the invitation is used up."""
    if not _addressed_to(invitation, user):
        raise NotFound("no such invitation")
    existing = Membership.objects.filter(workspace=invitation.workspace, user=user).first()
    invitation.delete()
    if existing is not None and existing.has_role(invitation.role):
        return existing
    return membership_set(workspace=invitation.workspace, user=user, role=invitation.role)


def invitation_decline(*, invitation: Invitation, user) -> None:
    """The invitee says no: the invitation is gone (the owner may invite again)."""
    if not _addressed_to(invitation, user):
        raise NotFound("no such invitation")
    invitation.delete()
