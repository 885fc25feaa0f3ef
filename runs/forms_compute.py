"""Forms of the compute targets page."""

from __future__ import annotations

from django import forms

from runs.models import LOCAL_TARGET, NAME_HELP, ComputeTarget, validate_name


class ComputeTargetForm(forms.Form):
    """A new compute target: its name (a Celery target's queue) and executor."""

    name = forms.CharField(
        max_length=100,
        validators=[validate_name],
        error_messages={"required": "A compute target needs a name."},
        help_text=NAME_HELP,
    )
    executor = forms.ChoiceField(
        choices=ComputeTarget.Executor.choices, initial=ComputeTarget.Executor.LOCAL
    )
    description = forms.CharField(max_length=500, required=False)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name == LOCAL_TARGET:
            raise forms.ValidationError(f"{LOCAL_TARGET!r} exists in every workspace already.")
        return name


class ComputeTargetDeleteForm(forms.Form):
    name = forms.CharField(max_length=100)
