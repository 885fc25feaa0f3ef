"""Forms of the run detail and members pages: they validate and normalise, services write."""

from __future__ import annotations

from django import forms

from runs.markdown import MAX_DESCRIPTION_CHARS
from runs.models import Role
from runs.services.runs import MAX_DISPLAY_NAME
from runs.services.tags import MAX_KEY, MAX_VALUE


def _no_control_characters(label: str, value: str) -> str:
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise forms.ValidationError(
            f"{label} contains a control character (U+{ord(bad):04X}); remove it."
        )
    return value


class TagForm(forms.Form):
    """Add a tag, or change one (`original_key` names the tag being edited).

    An empty value makes a key-only tag ("worth another look").
    """

    key = forms.CharField(
        max_length=MAX_KEY,
        error_messages={
            "required": "A tag needs a key.",
            "max_length": f"Tag keys are at most {MAX_KEY} characters "
            "(this one has %(show_value)d).",
        },
    )
    value = forms.CharField(
        max_length=MAX_VALUE,
        required=False,
        strip=False,
        error_messages={
            "max_length": f"Tag values are at most {MAX_VALUE:,} characters "
            "(this one has %(show_value)d)."
        },
    )
    original_key = forms.CharField(max_length=MAX_KEY, required=False, strip=False)

    def clean_key(self) -> str:
        key = _no_control_characters("The key", self.cleaned_data["key"])
        if not key.strip():
            raise forms.ValidationError("A tag needs a key.")
        return key.strip()

    def clean_value(self) -> str | None:
        value = _no_control_characters("The value", self.cleaned_data["value"])
        return value if value.strip() else None

    def changes(self) -> tuple[dict[str, str | None], list[str]]:
        """(tags to set, keys to remove) for runs.services.run_set_tags."""
        key, value = self.cleaned_data["key"], self.cleaned_data["value"]
        original = self.cleaned_data.get("original_key") or ""
        remove = [original] if original and original != key else []
        return {key: value}, remove


class TagDeleteForm(forms.Form):
    key = forms.CharField(
        max_length=MAX_KEY, strip=False, error_messages={"required": "Which tag? No key was sent."}
    )


class DescriptionForm(forms.Form):
    description = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_DESCRIPTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
        error_messages={
            "max_length": f"The description is %(show_value)s characters; "
            f"the limit is {MAX_DESCRIPTION_CHARS:,}. Shorten it, or attach a file instead."
        },
    )

    def clean_description(self) -> str:
        # Browsers send CRLF from textareas; store what the SDK would.
        return self.cleaned_data["description"].replace("\r\n", "\n")


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        required=False,
        max_length=MAX_DISPLAY_NAME,
        error_messages={
            "max_length": f"Display names are at most {MAX_DISPLAY_NAME} characters "
            "(this one has %(show_value)d)."
        },
    )

    def clean_display_name(self) -> str:
        return _no_control_characters("The name", self.cleaned_data["display_name"])


class LogOffsetForm(forms.Form):
    offset = forms.IntegerField(
        min_value=0,
        max_value=2**53,
        error_messages={
            "required": "offset is required: the byte position to read the log from.",
            "invalid": "offset must be a whole number of bytes.",
            "min_value": "offset cannot be negative.",
            "max_value": "offset is larger than any log.",
        },
    )


class StatusSeenForm(forms.Form):
    seen = forms.CharField(max_length=40, required=False)


class MemberRoleForm(forms.Form):
    user_id = forms.IntegerField(error_messages={"required": "Which member? No user was sent."})
    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages={"invalid_choice": "%(value)s is not a role: reader, contributor or owner."},
    )


class MemberRemoveForm(forms.Form):
    user_id = forms.IntegerField(error_messages={"required": "Which member? No user was sent."})
