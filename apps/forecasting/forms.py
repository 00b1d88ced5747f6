from datetime import date, timedelta

from django import forms
from django.utils import timezone

from apps.forecasting.models import PeriodKind
from apps.forecasting.selectors.forecast import GROUP_BY
from apps.pipeline.models import Pipeline
from apps.users.models import ForecastSource, User, to_choose
from apps.users.roles import is_admin, managed, visible_users
from pipeline_crm.bounds import DATE, TypedDateField


class ChoicesForm(forms.Form):
    """A report's choices from the query string, narrowed to the teams whose whole work the
    user sees (a rep sees only their own part of theirs) and the people whose work they see.
    Anything invalid falls back to the default with a message, never an error page."""

    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="All teams")
    rep = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Everyone I can see", label="Rep"
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = managed(user)[1]
        self.fields["rep"].queryset = to_choose(visible_users(user))

    def valid_choices(self) -> dict:
        """The choices that were valid (none for an unbound form)."""
        if not self.is_bound:
            return {}
        self.is_valid()  # cleaned_data keeps the fields that were valid
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


class ForecastForm(ChoicesForm):
    """The forecast's choices."""

    period = forms.ChoiceField(choices=PeriodKind.choices, required=False)
    start = TypedDateField(required=False, widget=DATE, label="From")
    count = forms.IntegerField(
        required=False, min_value=1, max_value=24, label="Periods", widget=forms.NumberInput
    )
    group = forms.ChoiceField(
        choices=[(key, key.capitalize()) for key in GROUP_BY], required=False, label="Group by"
    )
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(), required=False, empty_label="All pipelines"
    )
    field_order = ["period", "start", "count", "group", "pipeline", "team", "rep"]

    def __init__(self, *args, user: User, **kwargs):
        # By rep for a manager; by team for an admin, whose organisation has hundreds of reps
        # (a table of 300 reps by 6 months is a choice, not a first view).
        self.default_group = "team" if is_admin(user) else "rep"
        kwargs.setdefault(
            "initial",
            {
                "period": PeriodKind.MONTH,
                "start": timezone.localdate(),
                "count": 6,
                "group": self.default_group,
            },
        )
        super().__init__(*args, user=user, **kwargs)
        if self.is_bound and not self.data.get("group"):
            # A bookmark without the group (`?count=3`) shows the group it is grouped by.
            self.data = self.data.copy()
            self.data["group"] = self.default_group

    def choices(self) -> dict:
        """What the forecast is asked for: the valid choices, defaults for the rest."""
        valid = self.valid_choices()
        return {
            "kind": valid.get("period") or PeriodKind.MONTH,
            "first": valid.get("start") or timezone.localdate(),
            "count": valid.get("count") or 6,
            "group_by": valid.get("group") or self.default_group,
            "pipeline": valid.get("pipeline"),
            "team": valid.get("team"),
            "rep": valid.get("rep"),
        }


class SourceForm(forms.Form):
    """The headline source of a user's forecast: what the verdicts against a target weigh
    the pipeline by."""

    source = forms.ChoiceField(
        choices=ForecastSource.choices, label="Verdicts against the target weigh the pipeline by"
    )


class TargetForm(forms.Form):
    """A target for a rep or a team the user may set targets for."""

    who = forms.ChoiceField(label="For")
    kind = forms.ChoiceField(choices=PeriodKind.choices, label="Period")
    starts = TypedDateField(widget=DATE, label="Month or quarter of", initial=timezone.localdate)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        reps, teams = managed(user)
        self.teams = {str(team.pk): team for team in teams}
        self.reps = {str(rep.pk): rep for rep in to_choose(reps)}
        self.fields["who"].choices = [
            ("Teams", [(f"team:{pk}", str(team)) for pk, team in self.teams.items()]),
            ("Reps", [(f"rep:{pk}", str(rep)) for pk, rep in self.reps.items()]),
        ]
        self.fields["amount"].widget.attrs.update(min=0, step="0.01")

    def target_of(self) -> dict:
        kind, _, pk = self.cleaned_data["who"].partition(":")
        return {"team": self.teams[pk]} if kind == "team" else {"rep": self.reps[pk]}


class AnalyticsForm(ChoicesForm):
    """The analytics page's choices; the defaults: every pipeline together, the month so far
    and the twelve before it (`year_before`), everyone visible."""

    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(), required=False, empty_label="All pipelines"
    )
    start = TypedDateField(required=False, widget=DATE, label="From")
    end = TypedDateField(required=False, widget=DATE, label="Until", help_text="Included.")
    field_order = ["pipeline", "start", "end", "team", "rep"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        today = timezone.localdate()
        self.fields["start"].initial = year_before(today)
        self.fields["end"].initial = today

    def clean(self):
        cleaned_data = super().clean()
        start, end = cleaned_data.get("start"), cleaned_data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end comes after the start.")
        elif start and not end and start > timezone.localdate():
            self.add_error("start", "Without an end the period ends today: start before it.")
        return cleaned_data

    def choices(self) -> dict:
        valid = self.valid_choices()
        today = timezone.localdate()
        pipeline = valid.get("pipeline")  # None: every pipeline
        end = valid.get("end") or today
        start = valid.get("start") or year_before(end)
        return {
            "pipeline": pipeline,
            "start": start,
            "end": end + timedelta(days=1),
            "team": valid.get("team"),
            "rep": valid.get("rep"),
        }


def year_before(end: date) -> date:
    """The analytics' default start for a period ending on `end`: the first of `end`'s month a
    year earlier. The period is then whole months, which the counts hold
    (apps/pipeline/counts.py), and `end`'s month up to it."""
    return date(end.year - 1, end.month, 1)
