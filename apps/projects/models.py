from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, DurationField, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Coalesce, ExtractDay
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.users.models import User
from pipeline_crm.bounds import BoundedTextField, text_limit_check
from pipeline_crm.search import search_vector

# How an open project's next step stands on a day: the home page's sections, the project
# list's filter and the flags on cards and rows (`CustomerProject.next_step_due`).
NEXT_STEP_DUE = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due in the next 7 days"),
    ("missing", "No next step"),
]
NEXT_STEP_DAYS_AHEAD = 7
NOTE_TEXT = 5_000  # a project note's characters: a note, not a document


class ProjectStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    STOPPED = "stopped", "Stopped"


def effective_probability(
    *,
    status="status",
    individual="individual_probability",
    stage_default="stage__default_probability",
) -> models.Expression:
    """The probability of winning a project, in percent: won 100, stopped 0, otherwise the
    owner's individual percentage if set, otherwise the stage's default. The one definition:
    projects annotate with it (CustomerProjectQuerySet) and the state ledger computes its
    column with it (ProjectState.effective_probability), so nothing else re-implements it."""
    return Case(
        When(**{status: ProjectStatus.WON}, then=Value(100)),
        When(**{status: ProjectStatus.STOPPED}, then=Value(0)),
        default=Coalesce(F(individual), F(stage_default)),
        output_field=models.PositiveSmallIntegerField(),
    )


def weighted_value(probability: str = "effective_probability") -> models.Expression:
    """What a project weighs in a forecast: its value × `probability` (a percentage field or
    annotation) / 100. The one definition for reads through the ORM: projects and the ledger
    weigh with it. Two aggregates write the same product in SQL, for speed, and their tests
    check them against it: the forecast's (`forecasting.selectors.SUMS`, scaled after the
    sum) and the review's waterfall (`reviews.selectors._cents`, in whole cents)."""
    return F("value") * F(probability) / Value(100)


TRACKED = {"tracked": True}


@dataclass(frozen=True)
class ProjectFacts:
    """What a project is, as its owner gives it: the one list of a project's editable fields.
    The create and edit forms, `update_project` and the timeline derive theirs from it. The
    fields marked tracked are the facts reports follow: a change of one begins a new period in
    the state ledger."""

    account: Account
    title: str
    owner: User = field(metadata=TRACKED)
    value: Decimal = field(default=Decimal(0), metadata=TRACKED)
    expected_close_date: date | None = field(default=None, metadata=TRACKED)
    individual_probability: int | None = field(default=None, metadata=TRACKED)
    present_state: str = ""
    desired_state: str = ""
    buying_process: str = ""
    next_step: str = ""
    next_step_date: date | None = None


# The fields an edit may change (the account is chosen once, when the project is opened).
EDITABLE_FIELDS = [f.name for f in fields(ProjectFacts) if f.name != "account"]
TRACKED_FIELDS = [f.name for f in fields(ProjectFacts) if f.metadata.get("tracked")]
NEXT_STEP_FIELDS = ["next_step", "next_step_date"]


def next_step_q(due: str, today: date) -> Q:
    """The condition for `due` (a key of NEXT_STEP_DUE) on `today`. A day without words is
    no next step."""
    if due == "missing":
        return Q(status=ProjectStatus.OPEN, next_step="")
    written = Q(status=ProjectStatus.OPEN) & ~Q(next_step="")
    if due == "overdue":
        return written & Q(next_step_date__lt=today)
    if due == "today":
        return written & Q(next_step_date=today)
    if due == "week":
        return written & Q(
            next_step_date__gt=today,
            next_step_date__lte=today + timedelta(days=NEXT_STEP_DAYS_AHEAD),
        )
    raise ValueError(f"Unknown next-step due {due!r}.")


class CustomerProjectQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ProjectStatus.OPEN)

    def with_effective_probability(self):
        """Annotate `effective_probability` (percent) and `weighted_value` (value × it)."""
        return self.annotate(effective_probability=effective_probability()).annotate(
            weighted_value=weighted_value()
        )

    def with_days_in_stage(self, now: datetime | None = None):
        """Annotate `days_in_stage` (whole days since the project entered its stage) and
        `is_stuck`: longer in the stage than the stage's normal days (a stage without normal
        days never makes a project stuck). The board flags these; reviews list them."""
        since = ExpressionWrapper(
            Value(now or timezone.now()) - F("stage_entered_at"), output_field=DurationField()
        )
        return self.annotate(days_in_stage=ExtractDay(since)).annotate(
            is_stuck=Q(stage__normal_days__isnull=False)
            & Q(days_in_stage__gt=F("stage__normal_days"))
        )

    def next_step(self, due: str, today: date):
        """Open projects whose next step stands as `due` (one of NEXT_STEP_DUE) on `today`."""
        return self.filter(next_step_q(due, today))

    def stuck(self, now: datetime | None = None):
        """Open projects longer in their stage than its normal days."""
        return self.open().with_days_in_stage(now).filter(is_stuck=True)


class CustomerProject(models.Model):
    """One piece of potential business with one account (elsewhere: opportunity, deal).
    Where it is in the pipeline (stage, status) changes only through apps/pipeline/services.py."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="projects"
    )
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="customer_projects",
        verbose_name="account manager",
    )
    pipeline = models.ForeignKey(
        "pipeline.Pipeline", on_delete=models.PROTECT, related_name="projects"
    )
    stage = models.ForeignKey("pipeline.Stage", on_delete=models.PROTECT, related_name="projects")
    status = models.CharField(
        max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.OPEN
    )
    value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Expected value of the business, in the CRM's currency.",
    )
    expected_close_date = models.DateField(null=True, blank=True)
    individual_probability = models.PositiveSmallIntegerField(
        "individual %",
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Your own estimate of the chance of winning (0–100). It overrides the stage's "
        "default percentage; leave it empty to use the default.",
    )
    present_state = BoundedTextField(blank=True, help_text="Where the customer is today.")
    desired_state = BoundedTextField(blank=True, help_text="Where the customer wants to be.")
    buying_process = BoundedTextField(
        "customer's buying process",
        blank=True,
        help_text="How the customer decides and buys: who, steps, budget, timing.",
    )
    next_step = models.CharField(max_length=200, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made the last change (a move or an edit), named when a form is stale.",
    )
    stage_entered_at = models.DateTimeField(help_text="When the project entered its stage.")
    closed_at = models.DateTimeField(null=True, blank=True)
    # Stages by identity, not by the order they had: an admin who inserts or reorders stages
    # changes where each stands today, and the reports place them in today's order
    # (DOMAIN.md, "Reached a stage"). Ids, not a relation: projects knows nothing of stages.
    reached_stages = ArrayField(
        models.IntegerField(),
        default=list,
        blank=True,
        editable=False,
        db_default=Value([], output_field=ArrayField(models.IntegerField())),
        help_text="Every stage its ledger has recorded it in (ids, once each). It reached "
        "those and every stage before the furthest of them in the pipeline's current order. "
        "Kept by apps/pipeline/ledger.py.",
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every write, so a stale form or board is detected."
    )
    # The name's words for search (pipeline_crm/search.py), kept by the database.
    search = models.GeneratedField(
        expression=search_vector("title"), output_field=SearchVectorField(), db_persist=True
    )

    objects = CustomerProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=0), name="projects_customerproject_value_positive"
            ),
            models.CheckConstraint(
                condition=Q(individual_probability__isnull=True)
                | Q(individual_probability__lte=100),
                name="projects_customerproject_individual_probability_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProjectStatus.values),
                name="projects_customerproject_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=ProjectStatus.OPEN, closed_at__isnull=True)
                | (~Q(status=ProjectStatus.OPEN) & Q(closed_at__isnull=False)),
                name="projects_customerproject_closed_iff_not_open",
            ),
            text_limit_check("projects_customerproject", "present_state"),
            text_limit_check("projects_customerproject", "desired_state"),
            text_limit_check("projects_customerproject", "buying_process"),
        ]
        indexes = [
            # The board: open projects of a pipeline per stage, biggest first.
            models.Index(
                F("stage"),
                F("value").desc(),
                name="projects_open_by_stage_idx",
                condition=Q(status="open"),
            ),
            # A rep's own projects, in lists and visibility filters.
            models.Index(fields=["owner", "status"], name="projects_owner_status_idx"),
            # The project list's default order (newest first): a page reads 25 rows from it
            # instead of sorting every visible project.
            models.Index(F("created_at").desc(), "id", name="projects_newest_first_idx"),
            # The project list sorted by a column of its own, either way (the id follows the
            # key's direction): a page in the middle reads 25 ids from an index, where it
            # sorted every visible project (page 2,000 of 100,000: 150-250 ms).
            models.Index(fields=["title", "id"], name="projects_by_title_idx"),
            models.Index(fields=["value", "id"], name="projects_by_value_idx"),
            models.Index(fields=["expected_close_date", "id"], name="projects_by_close_idx"),
            models.Index(fields=["updated_at", "id"], name="projects_by_update_idx"),
            GinIndex(fields=["search"], name="projects_search_idx"),
            # The forecast: open projects by close month (and those without a close date).
            models.Index(
                "expected_close_date", name="projects_open_by_close_idx", condition=Q(status="open")
            ),
            # The forecast's "won so far" and its accuracy: wins by the day they were won,
            # which a win makes the expected close date.
            models.Index(
                "expected_close_date", name="projects_won_by_day_idx", condition=Q(status="won")
            ),
            # The analytics' funnel: the projects opened in a period, read from the index.
            models.Index(
                fields=["pipeline", "created_at"],
                include=["reached_stages", "owner"],
                name="projects_opened_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("projects:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == ProjectStatus.OPEN

    @property
    def next_step_due(self) -> str:
        """How an open project's next step stands today (the local day): "missing" without
        one, "overdue" when its day has passed, "today" when it is today; else "" (the
        flags; `next_step_q` is the same rule in SQL)."""
        if not self.is_open:
            return ""
        if not self.next_step:
            return "missing"
        if self.next_step_date is None:
            return ""
        today = timezone.localdate()
        if self.next_step_date < today:
            return "overdue"
        return "today" if self.next_step_date == today else ""


class ProjectNote(models.Model):
    """What someone learned or did, kept with the project."""

    project = models.ForeignKey(CustomerProject, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = BoundedTextField(max_length=NOTE_TEXT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [text_limit_check("projects_projectnote", "text", NOTE_TEXT)]

    def __str__(self):
        return self.text[:50]


class NextStepChange(models.Model):
    """A project's next step as someone set it: the history of next steps, appended to by
    every write that changes one (apps/pipeline/services.py) and never edited."""

    project = models.ForeignKey(
        CustomerProject, on_delete=models.PROTECT, related_name="next_step_changes"
    )
    next_step = models.CharField(max_length=200, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["project", "changed_at"], name="projects_next_step_idx")]

    def __str__(self):
        return self.next_step or "no next step"
