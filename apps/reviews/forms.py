from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.forecasting.forms import ChoicesForm
from apps.forecasting.models import PeriodKind
from apps.projects.models import CustomerProject
from apps.reviews.models import ActionItem
from apps.reviews.selectors import QUIET_DAYS, Scope
from apps.users.models import User, to_choose
from apps.users.roles import managed
from pipeline_crm.bounds import DATE, BoundedCharField, TypedDateField, validate_typed_day


class PrepareForm(ChoicesForm):
    """Whose review, since when (a day typed, or the exact moment a prepared page covered),
    and the stuck rule's quiet days; anything invalid falls back to the default with a
    message."""

    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    rep = forms.ModelChoiceField(queryset=None, required=False, empty_label="—", label="Or a rep")
    since = TypedDateField(
        required=False,
        widget=DATE,
        help_text="Default: the last meeting of this team or rep, else 14 days ago.",
    )
    quiet = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        label="Quiet days",
        help_text=f"Stuck when no move and no note for this many days (default {QUIET_DAYS}).",
    )
    period = forms.ChoiceField(choices=PeriodKind.choices, required=False, label="Forecast by")
    since_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    field_order = ["team", "rep", "since", "quiet", "period"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        reps, teams = managed(user)
        self.fields["team"].queryset = teams
        self.fields["rep"].queryset = to_choose(reps)

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("team") and cleaned_data.get("rep"):
            self.add_error("rep", "Choose a team or a rep, not both.")
        since = cleaned_data.get("since")
        if since and since > timezone.localdate():
            self.add_error("since", "Choose a day before today.")
        since_at = cleaned_data.get("since_at")
        if since_at:
            try:
                validate_typed_day(timezone.localdate(since_at))
            except forms.ValidationError as error:
                self.add_error("since_at", error)
            else:
                if since_at >= timezone.now():
                    self.add_error("since_at", "The review covers a time before now.")
        return cleaned_data

    def scope(self) -> Scope | None:
        valid = self.valid_choices()
        if valid.get("team"):
            return Scope(team=valid["team"])
        if valid.get("rep"):
            return Scope(rep=valid["rep"])
        return None

    def since_moment(self) -> datetime | None:
        """The exact moment a prepared page covered, else the midnight of the day typed."""
        valid = self.valid_choices()
        if valid.get("since_at"):
            return valid["since_at"]
        day = valid.get("since")
        return timezone.make_aware(datetime.combine(day, time.min)) if day else None


class NotesForm(forms.Form):
    notes = BoundedCharField(
        label="What was said and agreed", widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class ActionForm(forms.ModelForm):
    """An action for one of the meeting's people, maybe about one of its projects."""

    class Meta:
        model = ActionItem
        fields = ["owner", "text", "due_date", "project"]
        widgets = {"due_date": DATE}
        field_classes = {"due_date": TypedDateField}
        labels = {"owner": "Who", "text": "What", "due_date": "By"}

    def __init__(self, *args, meeting, listed=(), **kwargs):
        kwargs.setdefault("initial", {"due_date": timezone.localdate() + timedelta(days=7)})
        super().__init__(*args, **kwargs)
        members = Scope(team=meeting.team, rep=meeting.rep).member_ids()
        self.fields["owner"].queryset = User.objects.filter(
            pk__in=[*members, meeting.manager_id]
        ).order_by("first_name", "last_name", "username")
        self.fields["project"].queryset = (
            CustomerProject.objects.open().filter(owner__in=members).order_by("title")
        )
        self.fields["project"].required = False
        # Offered: the projects the review lists (a team's open projects can be thousands);
        # any open project of the scope is accepted.
        self.fields["project"].widget.choices = [("", "No particular project")] + [
            (project.pk, str(project)) for project in sorted(listed, key=str)
        ]
        if meeting.rep_id:
            self.fields["owner"].initial = meeting.rep_id

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate() - timedelta(days=1):
            raise forms.ValidationError("An action is due today or later.")
        if due > timezone.localdate() + timedelta(days=366):
            raise forms.ValidationError("Choose a due date within a year.")
        return due
