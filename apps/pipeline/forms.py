from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils import timezone

from apps.pipeline.models import TRANSITION_NOTE, EndedBy, ProjectField, Stage, StopReason
from apps.pipeline.services import missing_entry_fields, won_day_problem
from pipeline_crm.bounds import LONG_TEXT, BoundedCharField, TypedDateField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})
INCOMPLETE = "The page was incomplete: reload it and try again."


def entry_field(name: str) -> forms.Field:
    """The form field for a project field a stage may require (ProjectField), with the
    limits of the project's model and our wording: what a move or a win asks for."""
    label = ProjectField(name).label
    if name == "value":
        return forms.DecimalField(
            label=label,
            max_digits=14,
            decimal_places=2,
            validators=[MinValueValidator(Decimal(0))],
            widget=forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
            error_messages={
                "required": "Give the value.",
                "invalid": "Give the value as a number, such as 25000 or 25000.50.",
                "min_value": "The value cannot be negative.",
                "max_digits": "Give the value with at most 12 digits before the decimal "
                "point and 2 after it.",
                "max_whole_digits": "The value is too large: at most 12 digits before the "
                "decimal point.",
                "max_decimal_places": "Give the value to the cent: at most 2 decimals.",
            },
        )
    if name == "expected_close_date":
        return TypedDateField(
            label=label,
            widget=DATE,
            error_messages={
                "required": "Give the expected close date.",
                "invalid": "Give the day as a date, such as 2026-12-01.",
            },
        )
    text = {
        "required": f"Fill in the {label.lower()}.",
        "null_characters_not_allowed": f"The {label.lower()} contains a character that "
        "cannot be kept.",
    }
    if name == "next_step":
        return forms.CharField(
            label=label,
            max_length=200,
            error_messages={**text, "max_length": "Keep the next step to 200 characters."},
        )
    return BoundedCharField(label=label, max_length=LONG_TEXT, widget=TEXT, error_messages=text)


class LifecycleForm(forms.Form):
    """What every lifecycle action sends: the version the user saw, and an optional note."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        max_value=2**31 - 1,
        error_messages={
            "required": INCOMPLETE,
            "invalid": INCOMPLETE,
            "min_value": INCOMPLETE,
            "max_value": INCOMPLETE,
        },
    )
    note = BoundedCharField(
        required=False,
        max_length=TRANSITION_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "null_characters_not_allowed": "The note contains a character that cannot be kept.",
        },
    )


class EntryFieldsMixin:
    """The fields the target stage requires that the project lacks (`asked`), asked for with
    the move or the win and written with it. Only the asked ones are fields of the form, so
    nothing else can be slipped in."""

    target_stage: Stage | None = None
    asked: list[str] = []
    confirmed: list[str] = []  # Facts the form always shows for confirmation.

    def ask_for(self, project, stage: Stage | None, asked=None):
        self.target_stage = stage
        if asked is None:
            asked = missing_entry_fields(project, stage) if stage else []
        self.asked = [name for name in asked if name in ProjectField.values]
        for name in self.asked:
            if name not in self.fields:
                self.fields[name] = entry_field(name)
            self.fields[name].required = True

    @property
    def entry_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.asked if name in self.cleaned_data}

    @property
    def answer_fields(self) -> list:
        """The bound fields the form shows for the facts: the confirmed ones, then the asked."""
        return [self[name] for name in [*self.confirmed, *self.asked]]

    @property
    def waits_for_answers(self) -> bool:
        """Only asked fields are wrong: the form is shown again asking for them (first
        without errors, when none of them was sent yet)."""
        answers = [*self.asked, *self.confirmed]
        return bool(answers) and set(self.errors) <= set(answers)

    @property
    def asks_first(self) -> bool:
        """Fields are asked for and none of them was sent (the first answer to a drop): they
        are shown without errors."""
        return (
            bool(self.asked)
            and set(self.errors) <= set(self.asked)
            and not any(name in self.data for name in self.asked)
        )


class MoveForm(EntryFieldsMixin, LifecycleForm):
    action = "move"
    to_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        label="Move to",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the stage to move to.",
            "invalid_choice": "Choose one of the pipeline's stages.",
        },
    )

    def __init__(self, *args, project, asked=None, **kwargs):
        kwargs.setdefault("auto_id", "move_%s")  # Unique beside the board's stop dialog.
        super().__init__(*args, **kwargs)
        # Any stage of the project's pipeline: a stage of another pipeline is not a choice.
        stages = (
            Stage.objects.filter(pipeline=project.pipeline_id, is_won=False)
            .exclude(pk=project.stage_id)
            .order_by("order")
        )
        self.fields["to_stage"].queryset = stages
        # A move forward asks for what the stage needs; a move back needs nothing.
        chosen = str(self.data.get("to_stage", "") if self.is_bound else "")
        stage = None
        if chosen.isdigit() and len(chosen) < 10:
            stage = stages.filter(pk=chosen, order__gt=project.stage.order).first()
        self.ask_for(project, stage, asked)


class WinForm(EntryFieldsMixin, LifecycleForm):
    """A win, confirmed with the value (left empty: as it is) and the day it was won (left
    empty: today), and the fields the won stage still needs, if any. The won day becomes the
    expected close date, so the stage never needs to ask for that."""

    action = "win"
    value = entry_field("value")
    won_on = TypedDateField(
        label="Won on",
        required=False,
        widget=DATE,
        help_text="The day the customer signed: today, or an earlier day.",
        error_messages={"invalid": "Give the day as a date, such as 2026-12-01."},
    )
    confirmed = ["value", "won_on"]

    def __init__(self, *args, project, asked=None, **kwargs):
        kwargs.setdefault("auto_id", "win_%s")
        super().__init__(*args, **kwargs)
        self.project = project
        won_stage = Stage.objects.filter(pipeline=project.pipeline_id, is_won=True).first()
        asked = [name for name in asked or [] if name != "expected_close_date"] or None
        self.ask_for(project, won_stage, asked)
        if "expected_close_date" in self.asked:
            self.asked.remove("expected_close_date")  # the won day fills it in
            del self.fields["expected_close_date"]
        self.fields["value"].required = "value" in self.asked
        if "value" in self.asked:
            # The confirmed value is one the stage needs: then it must be given.
            self.asked.remove("value")
        today = timezone.localdate()
        self.fields["won_on"].widget.attrs.update(
            min=timezone.localdate(project.created_at).isoformat(), max=today.isoformat()
        )
        self.order_fields(["value", "won_on"])

    def clean_won_on(self):
        day = self.cleaned_data["won_on"]
        problem = won_day_problem(self.project, day) if day else ""
        if problem:
            raise forms.ValidationError(problem)
        return day


class CompactForm(forms.Form):
    compact = forms.BooleanField(required=False)


class StopForm(LifecycleForm):
    ended_by = forms.ChoiceField(
        choices=EndedBy.choices,
        widget=forms.RadioSelect,
        label="Who ended it",
        error_messages={
            "required": "Say who ended it: we, or the customer.",
            "invalid_choice": "Say who ended it: we, or the customer.",
        },
    )
    reason = forms.ModelChoiceField(
        queryset=StopReason.objects.filter(is_active=True),
        empty_label="Choose a reason",
        error_messages={
            "required": "Choose why the project stopped.",
            "invalid_choice": "Choose one of the reasons listed (an admin keeps the list).",
        },
    )
