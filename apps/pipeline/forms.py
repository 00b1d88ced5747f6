import re
from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.pipeline.models import (
    TRANSITION_NOTE,
    EndedBy,
    Pipeline,
    ProjectField,
    Stage,
    StopReason,
)
from apps.pipeline.selectors import first_stages
from apps.pipeline.services import (
    MissingEntryFields,
    PipelineError,
    missing_entry_fields,
    opening_place,
    required_fields,
    won_day_problem,
)
from apps.projects.models import EDITABLE_FIELDS, CustomerProject
from apps.projects.services import NOT_VISIBLE, AccountNotChosen, choose_account
from apps.users.models import User
from apps.users.roles import may_assign_owners, owner_choices
from pipeline_crm.bounds import DATE, LONG_TEXT, BoundedCharField, TypedDateField

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
        error_messages=dict.fromkeys(["required", "invalid", "min_value", "max_value"], INCOMPLETE),
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
        self.fields["won_on"].widget.attrs.update(
            min=timezone.localdate(project.created_at).isoformat(),
            max=timezone.localdate().isoformat(),
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
        error_messages=dict.fromkeys(
            ["required", "invalid_choice"], "Say who ended it: we, or the customer."
        ),
    )
    reason = forms.ModelChoiceField(
        queryset=StopReason.objects.filter(is_active=True),
        empty_label="Choose a reason",
        error_messages={
            "required": "Choose why the project stopped.",
            "invalid_choice": "Choose one of the reasons listed (an admin keeps the list).",
        },
    )


# The project form: what a project is, as its owner gives it, with what its stage requires.


PAST_CLOSE_DATE = "This date has passed. Save again to keep it, or choose a later one."
A_DAY = "Give the day as a date, such as 2026-12-01."
NUL = "contains a character that cannot be kept (a NUL byte, often pasted from another program)."
VALUE_DIGITS = "Give the value with at most 12 digits before the decimal point and 2 after it."
PERCENT = "Give your % as a whole number from 0 to 100, or leave it empty."

# Every message the project form can show, in our words rather than Django's defaults.
PROJECT_MESSAGES = {
    "title": {
        "required": "Give the project a title.",
        "max_length": "Keep the title to %(limit_value)d characters (this one has %(show_value)d).",
        "null_characters_not_allowed": f"The title {NUL}",
    },
    "account_name": {
        "required": "Choose the account, or type the name of a new one.",
        "max_length": "Keep the account's name to %(limit_value)d characters.",
        "null_characters_not_allowed": f"The account's name {NUL}",
    },
    "pipeline": {"invalid_choice": "Choose a pipeline from the list."},
    "owner": {
        "required": "Choose the account manager.",
        "invalid_choice": "Choose an account manager from the list: that one is not someone "
        "you can hand work to.",
    },
    "value": {
        "required": "Give the value: 0 if it is not known yet.",
        "invalid": "Give the value as a number, such as 12500 or 12500.50.",
        "min_value": "The value cannot be negative.",
        **dict.fromkeys(["max_value", "max_digits", "max_whole_digits"], VALUE_DIGITS),
        "max_decimal_places": "Give the value to the cent: at most 2 decimals.",
    },
    "expected_close_date": {"invalid": A_DAY},
    "individual_probability": dict.fromkeys(["invalid", "min_value", "max_value"], PERCENT),
    "present_state": {"null_characters_not_allowed": f"The present state {NUL}"},
    "desired_state": {"null_characters_not_allowed": f"The desired state {NUL}"},
    "buying_process": {"null_characters_not_allowed": f"The buying process {NUL}"},
    "next_step": {
        "max_length": "Keep the next step to %(limit_value)d characters.",
        "null_characters_not_allowed": f"The next step {NUL}",
    },
    "next_step_date": {"invalid": A_DAY},
    "version": dict.fromkeys(["required", "invalid"], INCOMPLETE),
}

# The form's groups, in order; a field a form does not have is left out of its group.
PROJECT_FIELDSETS = [
    (
        "The deal",
        [
            "account_name",
            "title",
            "pipeline",
            "owner",
            "value",
            "expected_close_date",
            "individual_probability",
        ],
    ),
    ("Qualification", ["present_state", "desired_state", "buying_process"]),
    ("Next step", ["next_step", "next_step_date"]),
]


def _account_id(value) -> int | None:
    """The account id the page sent (the list's pick, or a link's), None when it sent none;
    ValueError when what it sent is no id (garbled or forged)."""
    if value in (None, ""):
        return None
    if not re.fullmatch(r"[0-9]{1,18}", str(value).strip()):
        raise ValueError(f"No account id: {value!r}")
    return int(value)


class ProjectForm(forms.ModelForm):
    """A project's facts and qualification. A rep's projects are their own; a manager or an
    admin can give one to someone whose work they see. An expected close date in the past is
    asked about once (saved when the same date comes back with its confirmation). Its days are
    days a person may type (pipeline_crm/bounds.py), and its text has the model's bounds."""

    # Plain fields: whatever comes back is only compared with what the form sent.
    confirm_close_date = forms.Field(required=False, widget=forms.HiddenInput)

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
        field_classes = {"expected_close_date": TypedDateField, "next_step_date": TypedDateField}
        labels = {"individual_probability": "Your %"}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["value"].widget.attrs.update(min=0, step="0.01")
        self.fields["individual_probability"].widget.attrs.update(min=0, max=100)
        if may_assign_owners(user):
            self.fields["owner"].queryset = owner_choices(user, self.instance.owner_id)
        else:
            del self.fields["owner"]
        for name, messages in PROJECT_MESSAGES.items():
            if name in self.fields:
                self.fields[name].error_messages.update(messages)
        self._mark_stage_requirements()

    def fieldsets(self):
        """(legend, bound fields) for each group the template shows."""
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in PROJECT_FIELDSETS
        ]

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
        """A close date in the past, newly given, comes back once with a warning and the date
        to confirm; the same date sent with its confirmation is kept. A stored date left as it
        is was kept already."""
        cleaned_data = super().clean()
        day = cleaned_data.get("expected_close_date")
        newly_past = day and day < timezone.localdate() and day != self.instance.expected_close_date
        if newly_past and cleaned_data.get("confirm_close_date") != day.isoformat():
            self.add_error("expected_close_date", forms.ValidationError(PAST_CLOSE_DATE, "past"))
            self.fields["expected_close_date"].warning = True
            # The page comes back with the confirmation set: saving it again keeps the date.
            self.data = self.data.copy()
            self.data[self.add_prefix("confirm_close_date")] = day.isoformat()
        return cleaned_data


class ProjectCreateForm(ProjectForm):
    """A new project. The account is chosen by typing its name: the page's script offers the
    accounts the user may see (`account_search`) and fills the hidden `account` with the one
    picked; without the script the typed name is looked up. A name no account has makes a new
    account when "New account" is ticked (the view creates it with the project)."""

    account = forms.Field(required=False, widget=forms.HiddenInput)  # its id; see _clean_account
    account_name = forms.CharField(
        label="Account",
        max_length=200,
        help_text="Type a few letters of its name and pick it from the list.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    new_account = forms.BooleanField(label="New account: create it with this name", required=False)
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(),
        required=False,
        empty_label="By the account's level",
        help_text="Left empty: customer acquisition for Suspects and Prospects, customer "
        "development for Shoppers and up.",
    )

    field_order = ["account_name", "new_account", "title", "pipeline"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.new_account_name = ""  # set by `clean` when the account is to be created
        self.account_note = ""  # said with the result (an existing account chosen instead)
        self.account_notice = ""  # said on a fresh form (an account in the link refused)
        name = self.fields["account_name"]
        name.widget.attrs.update(
            {
                "aria-required": "true",
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-controls": "account-options",
                "hx-get": reverse("projects:account_search"),
                # "typed": what was typed before the page's script ran (project_form.js).
                "hx-trigger": "input changed delay:200ms, typed",
                "hx-target": "#account-results",
                "hx-sync": "this:replace",
            }
        )
        if self.is_bound:
            # An account chosen by its id (the list's pick, or a link's) needs no name typed.
            name.required = not (self.data.get(self.add_prefix("account")) or "").strip()
        else:
            self._preselect_account(self.initial.get("account"))
            if "owner" in self.fields and not self.initial.get("owner"):
                self.initial["owner"] = user.pk  # a manager's own project, unless changed

    def _preselect_account(self, pk):
        """The account in the page's link (`?account=<pk>`, from an account's page): chosen if
        the user may see it, refused in words otherwise."""
        if pk in (None, ""):
            return
        try:
            chosen = choose_account(user=self.user, pk=_account_id(pk), name="", create=False)
        except (ValueError, AccountNotChosen):
            self.initial["account"] = ""
            self.account_notice = (
                "The account in the link is not one you can see, so none is chosen: "
                "type its name below."
            )
            return
        self.initial["account"] = chosen.account.pk
        self.initial["account_name"] = chosen.account.name

    def clean(self):
        # The account first: the first-stage check below needs it.
        self.cleaned_data["account"] = self._clean_account()
        cleaned_data = super().clean()
        account = cleaned_data.get("account")
        if account is None and self.new_account_name:
            account = Account(name=self.new_account_name)  # a new account starts as a Suspect
        if account is None:
            return cleaned_data
        # The stage a new project starts in, as the lifecycle service will open it there
        # (`opening_place`), and what that stage requires (`missing_entry_fields`): here each
        # field says so, with the form's other errors.
        try:
            pipeline, first = opening_place(account=account, pipeline=cleaned_data.get("pipeline"))
        except PipelineError:
            return cleaned_data  # The service says what is wrong with the pipeline.
        project = CustomerProject(
            title=cleaned_data.get("title") or "the project",
            **{name: cleaned_data.get(name) for name in ProjectField.values},
        )
        missing = [
            name
            for name in missing_entry_fields(project, first)
            if name in self.fields and name not in self.errors
        ]
        if missing:
            self.add_error(None, str(MissingEntryFields(project, first, missing)))
            for name in missing:
                self.add_error(name, f"A project on {pipeline} starts in {first}: fill this in.")
        return cleaned_data

    def _clean_account(self) -> Account | None:
        """The account chosen (`choose_account`), or None with `new_account_name` set when a
        new one is to be created, or None with the refusal on the account's field."""
        if "account_name" in self.errors:
            return None
        name = self.cleaned_data.get("account_name", "")
        try:
            pk = _account_id(self.cleaned_data.get("account"))
        except ValueError:
            self.add_error("account_name", NOT_VISIBLE)
            return None
        if pk is None and not name:
            self.add_error("account_name", PROJECT_MESSAGES["account_name"]["required"])
            return None
        try:
            chosen = choose_account(
                user=self.user, pk=pk, name=name, create=self.cleaned_data.get("new_account")
            )
        except AccountNotChosen as error:
            self.add_error("account_name", str(error))
            return None
        self.new_account_name = chosen.new_name
        self.account_note = chosen.note
        return chosen.account


class ProjectEditForm(ProjectForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
