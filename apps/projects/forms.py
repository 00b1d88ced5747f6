from django import forms
from django.utils import timezone

from apps.accounts.selectors import visible_accounts
from apps.pipeline.models import Pipeline
from apps.projects.models import CustomerProject
from apps.projects.services import EDITABLE_FIELDS
from apps.users.models import User
from apps.users.roles import may_assign_owners, owner_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})


class ProjectForm(forms.ModelForm):
    """A project's facts and qualification. A rep's projects are their own; a manager or an
    admin can give one to someone whose work they see."""

    class Meta:
        model = CustomerProject
        fields = EDITABLE_FIELDS
        widgets = {
            "expected_close_date": DATE,
            "next_step_date": DATE,
            "present_state": TEXT,
            "desired_state": TEXT,
            "buying_process": TEXT,
        }
        labels = {"individual_probability": "Your %"}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs.update(min=0, step="0.01")
        self.fields["individual_probability"].widget.attrs.update(min=0, max=100)
        if may_assign_owners(user):
            self.fields["owner"].queryset = owner_choices(user, self.instance.owner_id)
        else:
            del self.fields["owner"]

    def clean_title(self):
        return self.cleaned_data["title"].strip()


class ProjectCreateForm(ProjectForm):
    account = forms.ModelChoiceField(queryset=None)
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(),
        required=False,
        empty_label="By the account's level",
        help_text="Left empty: customer acquisition for Suspects and Prospects, customer "
        "development for Shoppers and up.",
    )

    field_order = ["account", "title", "pipeline"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["account"].queryset = visible_accounts(user)


class ProjectEditForm(ProjectForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


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
    next_step_date = forms.DateField(
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
