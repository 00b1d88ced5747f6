from django import forms
from django.utils import timezone

from apps.projects.models import NOTE_TEXT
from pipeline_crm.bounds import DATE, BoundedCharField, TypedDateField


class NoteForm(forms.Form):
    text = BoundedCharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_TEXT,
        error_messages={
            "required": "A note needs some text.",
            "null_characters_not_allowed": "The note contains a character that cannot be kept "
            "(a NUL byte, often pasted from another program).",
        },
    )


class NextStepForm(forms.Form):
    """What happens next on a project and by when: a step needs words, and its day is today
    or later (a past day is what the project page flags, not something to set)."""

    next_step = forms.CharField(
        label="Next step",
        max_length=200,
        required=False,
        error_messages={
            "max_length": "Keep the next step to %(limit_value)d characters.",
            "null_characters_not_allowed": "The next step contains a character that cannot be "
            "kept.",
        },
    )
    next_step_date = TypedDateField(
        label="By",
        required=False,
        widget=DATE,
        error_messages={"invalid": "Give the day as a date, such as 2026-12-01."},
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "The page was incomplete: reload it and try again.",
            "invalid": "The page was incomplete: reload it and try again.",
        },
    )

    def clean_next_step_date(self):
        day = self.cleaned_data["next_step_date"]
        today = timezone.localdate()
        if day and day < today:
            raise forms.ValidationError("Choose today or a later day for the next step.")
        if day and day.year > today.year + 5:
            raise forms.ValidationError("Choose a day within five years.")
        return day

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("next_step_date") and not cleaned_data.get("next_step"):
            self.add_error("next_step", "Say what the next step is, not only by when.")
        return cleaned_data
