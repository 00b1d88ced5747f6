from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower
from django.urls import reverse

from apps.projects.models import ProjectStatus, effective_probability, weighted_value
from apps.users.models import Team
from pipeline_crm.bounds import BoundedTextField, text_limit_check

TRANSITION_NOTE = 2_000  # a note said with a move, a win or a stop: a line or two


class PipelineKind(models.TextChoices):
    ACQUISITION = "acquisition", "Customer acquisition"
    DEVELOPMENT = "development", "Customer development"


class Pipeline(models.Model):
    """A sequence of stages that customer projects move through."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=PipelineKind.choices)
    is_default = models.BooleanField(
        "default for its kind",
        default=False,
        help_text="New projects of this kind go on this pipeline unless the rep picks another.",
    )
    description = BoundedTextField(blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="pipeline_pipeline_name_unique_ci"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(is_default=True),
                name="pipeline_pipeline_one_default_per_kind",
                violation_error_message="Another pipeline of this kind is already the default.",
            ),
            text_limit_check("pipeline_pipeline", "description"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("pipeline:board", args=[self.pk])


class ProjectField(models.TextChoices):
    """Project fields a stage can require before a project enters it (the customer pulls it
    there: we must know these first)."""

    PRESENT_STATE = "present_state", "Present state"
    DESIRED_STATE = "desired_state", "Desired state"
    BUYING_PROCESS = "buying_process", "Customer's buying process"
    VALUE = "value", "Value"
    EXPECTED_CLOSE_DATE = "expected_close_date", "Expected close date"
    NEXT_STEP = "next_step", "Next step"


class Stage(models.Model):
    """One stage of a pipeline, with its default probability of winning."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(help_text="Position in the pipeline, first is lowest.")
    default_probability = models.PositiveSmallIntegerField(
        "default %",
        validators=[MaxValueValidator(100)],
        help_text="Chance of winning a project here when its owner has not set one (0–100).",
    )
    entry_criteria = BoundedTextField(
        blank=True, help_text="What must be true when a project is in this stage."
    )
    normal_days = models.PositiveSmallIntegerField(
        "normal days in stage",
        null=True,
        blank=True,
        help_text="Projects here longer than this are flagged as stale on the board.",
    )
    is_won = models.BooleanField(
        "won stage",
        default=False,
        help_text="Reaching this stage wins the project (the last stage).",
    )
    required_fields = ArrayField(
        models.CharField(max_length=30, choices=ProjectField.choices),
        default=list,
        blank=True,
        help_text="Project fields that must be filled before a project enters this stage.",
    )

    class Meta:
        ordering = ["pipeline", "order"]
        constraints = [
            # Deferred, so stages can swap places within one transaction (the admin's reorder).
            models.UniqueConstraint(
                fields=["pipeline", "order"],
                name="pipeline_stage_order_unique",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(
                fields=["pipeline"],
                condition=models.Q(is_won=True),
                name="pipeline_stage_one_won_per_pipeline",
            ),
            models.CheckConstraint(
                condition=models.Q(default_probability__lte=100),
                name="pipeline_stage_default_probability_range",
            ),
            text_limit_check("pipeline_stage", "entry_criteria"),
        ]

    def __str__(self):
        return self.name


class StopReason(models.Model):
    """Why a project was stopped; admins keep the list."""

    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(
        default=True, help_text="Inactive reasons are kept for history."
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return self.name


class EndedBy(models.TextChoices):
    US = "us", "We decided to stop"
    CUSTOMER = "customer", "The customer chose otherwise"


class History(models.Model):
    """A row of history: written once, never changed or deleted through the model (the
    database's triggers refuse it too; for the ledger, closing the current period is the one
    update, made by apps/pipeline/ledger.py in SQL)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(f"A {self._meta.verbose_name} is history: it is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"A {self._meta.verbose_name} is history: it is never deleted.")


class TransitionKind(models.TextChoices):
    """What a stage transition was, in the timeline's words; `transition_kind()` decides it."""

    OPENED = "opened", "Opened"
    MOVED_FORWARD = "moved forward", "Moved forward"
    MOVED_BACK = "moved back", "Moved back"
    WON = "won", "Won"
    STOPPED = "stopped", "Stopped"
    REOPENED = "reopened", "Reopened"
    WIN_UNDONE = "win undone", "Win undone"  # a mistaken win taken back


def transition_kind(prefix: str = "", *, names: dict[str, str] | None = None) -> models.Expression:
    """What a stage transition was (a TransitionKind): opened when it had no status before;
    won or stopped by the status it entered; reopened when it left a stop, win undone when it
    left a win; otherwise moved back when the stage it entered had a lower order than the one
    it left, by the orders recorded at the time (an admin's reordering since changes no past
    move), else moved forward. The one definition: `StageTransitionQuerySet.with_kind()`, the
    ledger's changes and the timeline (pipeline.selectors.state_changes, through a period's
    `prefix="transition__"`) and the review's SQL (reviews.selectors.STEPS, compiled into it)
    all read it. `names` renames kinds for a report that groups them (the review calls both a
    reopening and an undone win "reopened"); the rules stay these."""
    names = names or {}

    def named(kind: TransitionKind) -> models.Value:
        return models.Value(names.get(kind, kind.value))

    rules = [  # the first that holds decides
        ("from_status", "", TransitionKind.OPENED),
        ("to_status", ProjectStatus.WON, TransitionKind.WON),
        ("to_status", ProjectStatus.STOPPED, TransitionKind.STOPPED),
        ("from_status", ProjectStatus.STOPPED, TransitionKind.REOPENED),
        ("from_status", ProjectStatus.WON, TransitionKind.WIN_UNDONE),
        ("from_stage_order__gt", models.F(f"{prefix}to_stage_order"), TransitionKind.MOVED_BACK),
    ]
    return models.Case(
        *(
            models.When(**{prefix + lookup: value}, then=named(kind))
            for lookup, value, kind in rules
        ),
        default=named(TransitionKind.MOVED_FORWARD),
        output_field=models.CharField(),
    )


class StageTransitionQuerySet(models.QuerySet):
    def with_kind(self):
        """Annotate `kind`: what each transition was (a TransitionKind value; see
        `transition_kind()`)."""
        return self.annotate(kind=transition_kind())


class StageTransition(History):
    """One change of a project's stage or status. Written once by services.py; never edited
    or deleted (a database trigger refuses both). It records what reports need as it was at
    that moment: the stages' orders and the stage's default %, the probability the project
    carried just before (so a win or a stop keeps what was predicted) and after, the owner and
    close date, and when the stage it left was entered. What kind of change it was is not
    stored: `transition_kind()` decides it from these (read it with `with_kind()`)."""

    project = models.ForeignKey(
        "projects.CustomerProject", on_delete=models.PROTECT, related_name="transitions"
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="transitions_in")
    from_stage_order = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The order the stage left had at the time."
    )
    to_stage_order = models.PositiveSmallIntegerField(
        help_text="The order the stage entered had at the time."
    )
    stage_default_probability = models.PositiveSmallIntegerField(
        help_text="The default % of the stage entered, at the time."
    )
    from_status = models.CharField(max_length=10, choices=ProjectStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=ProjectStatus.choices)
    prior_probability = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The effective % just before the change (none when opened).",
    )
    effective_probability = models.PositiveSmallIntegerField(
        help_text="The effective % just after the change (100 for a win, 0 for a stop)."
    )
    individual_probability = models.PositiveSmallIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expected_close_date = models.DateField(null=True, blank=True)
    previous_stage_entered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the project entered the stage it left."
    )
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)
    stop_reason = models.ForeignKey(
        StopReason, on_delete=models.PROTECT, null=True, blank=True, related_name="transitions"
    )
    raised_level_from = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="A win that raised its account's relationship level: the level before. Undoing "
        "the win puts it back, if nobody has changed it since.",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    note = BoundedTextField(blank=True, max_length=TRANSITION_NOTE)

    objects = StageTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        get_latest_by = ["created_at", "pk"]
        indexes = [
            # A project's timeline and its latest transition.
            models.Index(fields=["project", "created_at"], name="pipeline_transition_proj_idx"),
            # What moved in a window, and which projects did: the project id rides in the
            # index, so "moved lately" is read from the index alone (history is never
            # updated, so its pages stay all-visible).
            models.Index(fields=["created_at", "project"], name="pipeline_transition_time_idx"),
            # What some owners' projects did in a window, for figures narrowed to them (each
            # event counts for the owner it had then: `counts.Reading`), read from the index
            # alone: it holds what the counts' SQL reads of a transition.
            models.Index(
                fields=["owner", "created_at"],
                include=[
                    "project",
                    "from_stage",
                    "to_stage",
                    "from_status",
                    "to_status",
                    "previous_stage_entered_at",
                    "prior_probability",
                    "individual_probability",
                    "stage_default_probability",
                    "ended_by",
                    "stop_reason",
                ],
                name="pipeline_transition_owner_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_probability__lte=100)
                & Q(stage_default_probability__lte=100)
                & (Q(prior_probability__isnull=True) | Q(prior_probability__lte=100))
                & (Q(individual_probability__isnull=True) | Q(individual_probability__lte=100)),
                name="pipeline_stagetransition_probability_range",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0), name="pipeline_stagetransition_value_positive"
            ),
            models.CheckConstraint(
                condition=~Q(to_status="stopped")
                | (Q(stop_reason__isnull=False) & ~Q(ended_by="")),
                name="pipeline_stagetransition_stop_has_reason",
            ),
            text_limit_check("pipeline_stagetransition", "note", TRANSITION_NOTE),
        ]

    def __str__(self):
        return f"{self.project_id}: {self.from_stage} → {self.to_stage} ({self.to_status})"


class ProjectStateQuerySet(models.QuerySet):
    def at(self, moment):
        """The periods that held at `moment` (one per project that existed then)."""
        return self.filter(period__contains=moment)

    def current(self):
        return self.filter(period__upper_inf=True)

    def open(self):
        return self.filter(status=ProjectStatus.OPEN)

    def owned_by(self, users):
        """Periods whose owner (at the time) is one of `users`."""
        return self.filter(owner__in=users)

    def in_teams(self, teams):
        """Periods whose owner (at the time) was a member of one of `teams` (today's members)."""
        members = Team.members.through.objects.filter(team__in=teams).values("user_id")
        return self.filter(owner__in=members)

    def closing_between(self, start, end):
        """Periods whose expected close date (as it was) is in [start, end)."""
        return self.filter(expected_close_date__gte=start, expected_close_date__lt=end)

    def with_weighted_value(self):
        """Annotate `weighted_value`: value × the effective % of the period."""
        return self.annotate(weighted_value=weighted_value())


class ProjectState(History):
    """The project state ledger: one row per period in which a project's reportable facts
    were constant, `period` = [began, ended), the current period open-ended. Written only by
    the lifecycle services (apps/pipeline/services.py), in the transaction of the change that
    began it, which also closes the period before. The database keeps a project's periods
    from overlapping (an exclusion constraint over built-in range types: the project id as a
    one-point int8range, so no btree_gist is needed), allows one current period per project
    and requires one at commit, and refuses any update but closing the current period, and
    every delete (triggers, migration 0005). "As of" and "what changed" read it
    (apps/pipeline/selectors.py)."""

    project = models.ForeignKey(
        "projects.CustomerProject", on_delete=models.PROTECT, related_name="states"
    )
    period = DateTimeRangeField(help_text="[began, ended); open-ended while current.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    stage_order = models.PositiveSmallIntegerField(help_text="The stage's order at the time.")
    stage_default_probability = models.PositiveSmallIntegerField(
        "stage default %", help_text="The stage's default % at the time."
    )
    status = models.CharField(max_length=10, choices=ProjectStatus.choices)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    expected_close_date = models.DateField(null=True, blank=True)
    individual_probability = models.PositiveSmallIntegerField(null=True, blank=True)
    effective_probability = models.GeneratedField(
        expression=effective_probability(stage_default="stage_default_probability"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made the change that began the period (unknown only for periods rebuilt "
        "from an older history that did not say).",
    )
    transition = models.OneToOneField(
        StageTransition,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="state",
        help_text="The stage or status change that began the period; empty for an edit.",
    )

    objects = ProjectStateQuerySet.as_manager()

    class Meta:
        ordering = ["project", "period"]
        constraints = [
            ExclusionConstraint(
                name="pipeline_projectstate_no_overlap",
                index_type="gist",
                expressions=[
                    (
                        Func(F("project"), F("project"), Value("[]"), function="int8range"),
                        RangeOperators.OVERLAPS,
                    ),
                    ("period", RangeOperators.OVERLAPS),
                ],
                violation_error_message="A project's periods never overlap.",
            ),
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(period__upper_inf=True),
                name="pipeline_projectstate_one_current",
            ),
            models.CheckConstraint(
                condition=~Q(period__isempty=True) & Q(period__lower_inf=False),
                name="pipeline_projectstate_period_began",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0)
                & Q(stage_default_probability__lte=100)
                & (Q(individual_probability__isnull=True) | Q(individual_probability__lte=100)),
                name="pipeline_projectstate_ranges",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProjectStatus.values),
                name="pipeline_projectstate_status_valid",
            ),
        ]
        indexes = [
            # "As of" a moment: the open periods holding then (forecasts of the past).
            GistIndex(
                fields=["period"], name="pipeline_state_open_period_idx", condition=Q(status="open")
            ),
            # "What changed between X and Y": the periods that began in a window.
            models.Index(Func(F("period"), function="lower"), name="pipeline_state_began_idx"),
            # The period before another: the project's one that ended when it began.
            models.Index(
                F("project"), Func(F("period"), function="upper"), name="pipeline_state_ended_idx"
            ),
            # The edits among them (a transition tells its own change).
            models.Index(
                Func(F("period"), function="lower"),
                name="pipeline_state_edit_began_idx",
                condition=Q(transition__isnull=True),
            ),
            # What the forecast said on the first of a month for the month (forecast
            # accuracy): the open periods closing on each of its days that had not ended by
            # its first midnight (an index range per day), with what the sums need.
            models.Index(
                F("expected_close_date"),
                Func(F("period"), template="COALESCE(upper(%(expressions)s), 'infinity')"),
                include=[
                    "period",
                    "pipeline",
                    "owner",
                    "value",
                    "effective_probability",
                    "stage_default_probability",
                ],
                name="pipeline_state_open_close_idx",
                condition=Q(status="open"),
            ),
            # A team's or a rep's periods from a moment on, by the owner at the time (a
            # review meeting: the periods its changes since the last meeting began and ended,
            # and those held at its end), read from the index alone: a range per owner of the
            # periods that had not ended by then, the current ones last.
            models.Index(
                F("owner"),
                Func(F("period"), template="COALESCE(upper(%(expressions)s), 'infinity')"),
                include=[
                    "project",
                    "period",
                    "status",
                    "value",
                    "expected_close_date",
                    "effective_probability",
                    "individual_probability",
                    "transition",
                ],
                name="pipeline_state_owner_idx",
            ),
        ]

    def __str__(self):
        return f"{self.project_id}: {self.stage} {self.status} {self.period}"


class Count(models.Model):
    """Counts of what happened, written by the ledger's writer (`apps/pipeline/counts.py`) in the
    transaction of each change, per month of the event (in the configured time zone) and
    the owner and pipeline it had then: what the analytics read for an organisation's year,
    where reading the history itself (a million transitions) would take seconds. A change
    adds to its rows; a reopening or an undone win subtracts what its close added. Nothing
    else writes them, nothing sets them aside, and `manage.py check_counts` recomputes them
    from the history (they must agree: 0 differences)."""

    month = models.DateField(help_text="The first day of the month of the event.")

    class Meta:
        abstract = True

    def __str__(self):
        return f"{type(self).__name__} of {self.month:%b %Y}"


def count_key(name: str, *keys: str, **options) -> models.UniqueConstraint:
    """A count's row key: one row per month and `keys`, which the writer adds to."""
    return models.UniqueConstraint(fields=["month", *keys], name=name, **options)


class StayCount(Count):
    """Stays in a stage that ended (the project moved on, back, was won or stopped), by their
    length in whole days (rounded half up): for the median days in each stage."""

    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    days = models.IntegerField()
    stays = models.BigIntegerField(default=0)

    class Meta:
        constraints = [count_key("pipeline_staycount_key", "stage", "days")]


class CloseCount(Count):
    """Closes (wins and stops not undone), by owner at the close and the stage closed in: how
    many, how many carried an individual %, the squared errors of that % and of the stage
    default (in ten-thousandths: whole numbers, so sums are exact), and the seconds from
    opening to the close (the project-days of late stops)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=ProjectStatus.choices)
    closes = models.BigIntegerField(default=0)
    with_individual = models.BigIntegerField(default=0)
    error_individual = models.BigIntegerField(default=0)
    error_default = models.BigIntegerField(default=0)
    run_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [count_key("pipeline_closecount_key", "owner", "stage", "outcome")]


class CloseDaysCount(Count):
    """Closes by the whole days from the project's opening to the close: for the median days
    to a win and to a stop."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=ProjectStatus.choices)
    days = models.IntegerField()
    closes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [count_key("pipeline_closedayscount_key", "pipeline", "outcome", "days")]


class CloseReasonCount(Count):
    """Closes by the tenth of the effective % carried just before (0 for 0-9 %, …, 9 for
    90-100 %), who ended a stop and why: for the reliability chart and the stops' reasons."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=ProjectStatus.choices)
    bucket = models.SmallIntegerField(null=True)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)
    stop_reason = models.ForeignKey(
        StopReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            count_key(
                "pipeline_closereasoncount_key",
                "pipeline",
                "outcome",
                "bucket",
                "ended_by",
                "stop_reason",
                nulls_distinct=False,
            )
        ]


class ReachedCount(Count):
    """Closes by the stages the project had reached (`CustomerProject.reached_stages`): for
    the historical win rate of each stage."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=ProjectStatus.choices)
    reached = ArrayField(models.BigIntegerField())
    closes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [count_key("pipeline_reachedcount_key", "pipeline", "outcome", "reached")]
