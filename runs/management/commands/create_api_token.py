"""`manage.py create_api_token USERNAME --workspace NAME`: a token for the SDK and CLI."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from runs import selectors, services
from runs.exceptions import StudioError
from runs.models import Role, Workspace


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME, limited to the workspace NAME, and print it (alone) "
        "on stdout. "
        "The user and the workspace are created when missing: the user owns a new workspace. "
        "An existing member keeps their role unless --role is given; a user who is not yet a "
        "member joins as --role (contributor by default)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", required=True, help="workspace name (slug)")
        parser.add_argument("--name", default="cli", help="a label for the token (default: cli)")
        parser.add_argument(
            "--role",
            choices=Role.values,
            help="the user's role in an existing workspace",
        )

    def handle(self, *args, username: str, workspace: str, name: str, role: str | None, **options):
        username = username.strip()
        try:
            get_user_model()._meta.get_field("username").run_validators(username)
            if not username:
                raise ValidationError("it is empty")
        except ValidationError as exc:
            raise CommandError(f"username {username!r}: {' '.join(exc.messages)}") from None
        try:
            with transaction.atomic():
                user = services.user_get_or_create(username=username)
                if not Workspace.objects.filter(slug=workspace).exists():
                    ws = services.workspace_create(slug=workspace, owner=user)
                else:
                    ws = Workspace.objects.get(slug=workspace)
                    membership = selectors.membership_for(user, workspace)
                    if membership is None or (role and role != membership.role):
                        services.membership_set(
                            workspace=ws, user=user, role=role or Role.CONTRIBUTOR
                        )
                _, secret = services.token_create(user=user, name=name, workspace=ws)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)
