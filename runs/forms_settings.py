"""Forms of the workspace settings pages: members' invitations, API tokens, alert rules.

They parse and normalise what the page sent; the services check the rules
(who may do what, what a rule may say) and their messages land on the form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from runs.models import Role
from runs.services.alerts import EVENT_STATUSES, MAX_RUNNING_HOURS, MAX_SILENT_MINUTES, RuleSpec
from runs.services.tokens import TOKEN_NAME_MAX
from runs.services.workspaces import INVITEE_MAX

MAX_EXPIRY_DAYS = 3650
_SPLIT = re.compile(r"[\s,;]+")


class MemberInviteForm(forms.Form):
    invitee = forms.CharField(
        max_length=INVITEE_MAX,
        error_messages={
            "required": "Whom should we invite? Enter a username or an email address.",
            "max_length": f"At most {INVITEE_MAX} characters.",
        },
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.READER,
        error_messages={"invalid_choice": "%(value)s is not a role: reader, contributor or owner."},
    )


class InvitationForm(forms.Form):
    invitation_id = forms.IntegerField(
        error_messages={"required": "Which invitation? None was sent."}
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=TOKEN_NAME_MAX,
        error_messages={
            "required": "Give the token a name: what is it for ('laptop', 'CI')?",
            "max_length": f"Token names are at most {TOKEN_NAME_MAX} characters.",
        },
    )
    expires = forms.DateField(
        required=False,
        error_messages={"invalid": "The expiry date should look like 2026-12-31."},
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise forms.ValidationError("The name contains a control character; remove it.")
        return name

    def clean_expires(self) -> datetime | None:
        day = self.cleaned_data["expires"]
        if day is None:
            return None
        today = timezone.now().date()
        if day <= today:
            raise forms.ValidationError("The expiry date must be after today.")
        if day > today + timedelta(days=MAX_EXPIRY_DAYS):
            raise forms.ValidationError("Pick an expiry date within ten years, or none.")
        # The token works through the whole day it expires on (UTC).
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class TokenRevokeForm(forms.Form):
    token_id = forms.IntegerField(error_messages={"required": "Which token? None was sent."})


def _positive(label: str, top: int) -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=top,
        error_messages={
            "invalid": f"{label}: a whole number.",
            "min_value": f"{label}: at least 1.",
            "max_value": f"{label}: at most {top:,}.",
        },
    )


class AlertRuleForm(forms.Form):
    """Which runs, which events, who: the rule editor (and the 'alert me' links' prefill)."""

    name = forms.CharField(required=False, max_length=100)
    scope = forms.ChoiceField(
        required=False, choices=[("workspace", "Workspace"), ("personal", "Personal")]
    )
    experiment = forms.ChoiceField(required=False, choices=[])
    filter = forms.CharField(required=False, max_length=2000, strip=True)
    run_id = forms.CharField(required=False, max_length=255)
    mine_only = forms.BooleanField(required=False)
    statuses = forms.MultipleChoiceField(
        required=False,
        choices=[(s, s) for s in EVENT_STATUSES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "%(value)s is not a status a rule reports."},
    )
    running_hours = _positive("Running longer than", MAX_RUNNING_HOURS)
    silent_minutes = _positive("No heartbeat for", MAX_SILENT_MINUTES)
    members = forms.MultipleChoiceField(
        required=False,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "%(value)s is not a member of this workspace."},
    )
    all_members = forms.BooleanField(required=False)
    emails = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
    webhook = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, experiments: list[str], members: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["experiment"].choices = [("", "Any experiment")] + [(e, e) for e in experiments]
        self.fields["members"].choices = [(m, m) for m in members]

    def clean_emails(self) -> list[str]:
        return [e for e in _SPLIT.split(self.cleaned_data["emails"]) if e]

    def spec(self) -> RuleSpec:
        data = self.cleaned_data
        return RuleSpec(
            name=data["name"],
            scope=data["scope"] or None,
            experiment=data["experiment"] or None,
            filter=data["filter"],
            run_id=data["run_id"].strip() or None,
            mine_only=data["mine_only"],
            statuses=list(data["statuses"]),
            running_hours=data["running_hours"],
            silent_minutes=data["silent_minutes"],
            members=list(data["members"]),
            all_members=data["all_members"],
            emails=data["emails"],
            webhook=data["webhook"],
        )

    @classmethod
    def initial_of(cls, spec: RuleSpec) -> dict:
        """A spec as the form's initial values."""
        return {
            "name": spec.name,
            "scope": spec.scope or "",
            "experiment": spec.experiment or "",
            "filter": spec.filter,
            "run_id": spec.run_id or "",
            "mine_only": spec.mine_only,
            "statuses": spec.statuses,
            "running_hours": spec.running_hours,
            "silent_minutes": spec.silent_minutes,
            "members": spec.members,
            "all_members": spec.all_members,
            "emails": "\n".join(spec.emails),
            "webhook": spec.webhook,
        }
