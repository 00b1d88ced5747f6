from django import forms
from django.utils import timezone

from apps.accounts.selectors import visible_accounts
from apps.pipeline.models import Pipeline, Stage
from apps.pipeline.services import (
    MissingEntryFields,
    PipelineError,
    default_pipeline_for,
    required_fields,
)
from apps.projects.models import CustomerProject
from apps.projects.services import EDITABLE_FIELDS
from apps.users.models import User
from apps.users.roles import may_assign_owners, owner_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})


def first_stages() -> list[Stage]:
    """The stage each pipeline starts in (the lowest order)."""
    return list(
        Stage.objects.filter(is_won=False)
        .select_related("pipeline")
        .order_by("pipeline_id", "order")
        .distinct("pipeline_id")
    )


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
        self._mark_stage_requirements()

    def _mark_stage_requirements(self):
        """Mark the fields a stage requires. A project's own stage (and the stages before it)
        require them now: they cannot be emptied. A new project starts in its pipeline's first
        stage, which on some pipelines (customer development: Qualification) requires fields
        already: they are marked with the pipeline, and checked once the pipeline is known
        (see `clean`)."""
        if self.instance.pk:
            for name, stage in required_fields(self.instance.stage).items():
                self._mark(name, f"required for {stage}", stage=stage)
            return
        for first in first_stages():
            for name, stage in required_fields(first).items():
                self._mark(name, f"required for {stage} on {stage.pipeline}")

    def _mark(self, name, why, stage=None):
        field = self.fields.get(name)
        if field is None or "required for" in str(field.label):
            return
        field.label = f"{field.label} ({why})"
        field.widget.attrs["aria-required"] = "true"
        if stage is not None:
            field.required = True
            field.error_messages["required"] = f"{stage} needs this: fill it in."

    def clean_title(self):
        return self.cleaned_data["title"].strip()

    def clean(self):
        cleaned_data = super().clean()
        account = cleaned_data.get("account")
        if self.instance.pk or account is None:
            return cleaned_data
        # The stage a new project starts in: the first of its pipeline (chosen, or by the
        # account's level). The lifecycle service checks it again; here each field says so.
        try:
            pipeline = cleaned_data.get("pipeline") or default_pipeline_for(account)
        except PipelineError:
            return cleaned_data  # The service says what is wrong with the pipeline.
        first = pipeline.stages.order_by("order").first()
        if first is None:
            return cleaned_data
        missing = [
            name
            for name, stage in required_fields(first).items()
            if name in self.fields and name not in self.errors and not cleaned_data.get(name)
        ]
        if missing:
            project = CustomerProject(title=cleaned_data.get("title") or "the project")
            self.add_error(None, str(MissingEntryFields(project, first, missing)))
            for name in missing:
                self.add_error(name, f"A project on {pipeline} starts in {first}: fill this in.")
        return cleaned_data


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
    text = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        error_messages={
            "required": "A note needs some text.",
            "max_length": "Keep a note to %(limit_value)d characters (this one has "
            "%(show_value)d).",
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
