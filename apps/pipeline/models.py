from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse


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
    description = models.TextField(blank=True)

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
    entry_criteria = models.TextField(
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
        ]

    def __str__(self):
        return self.name

    def required_field_labels(self) -> list[str]:
        return [ProjectField(field).label for field in self.required_fields]


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


class ProjectStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    STOPPED = "stopped", "Stopped"


class EndedBy(models.TextChoices):
    US = "us", "We decided to stop"
    CUSTOMER = "customer", "The customer chose otherwise"


class StageTransition(models.Model):
    """One change of a project's stage or status. Written once by services.py; never edited
    or deleted (a database trigger refuses both). The source of every history-based figure."""

    project = models.ForeignKey(
        "projects.CustomerProject", on_delete=models.PROTECT, related_name="transitions"
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="transitions_in")
    from_status = models.CharField(max_length=10, choices=ProjectStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=ProjectStatus.choices)
    effective_probability = models.PositiveSmallIntegerField()
    individual_probability = models.PositiveSmallIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True)
    stop_reason = models.ForeignKey(
        StopReason, on_delete=models.PROTECT, null=True, blank=True, related_name="transitions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        get_latest_by = ["created_at", "pk"]
        indexes = [
            # A project's timeline and its latest transition.
            models.Index(fields=["project", "created_at"], name="pipeline_transition_proj_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_probability__lte=100)
                & (
                    models.Q(individual_probability__isnull=True)
                    | models.Q(individual_probability__lte=100)
                ),
                name="pipeline_stagetransition_probability_range",
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="pipeline_stagetransition_value_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(to_status="stopped")
                | (models.Q(stop_reason__isnull=False) & ~models.Q(ended_by="")),
                name="pipeline_stagetransition_stop_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.project_id}: {self.from_stage} → {self.to_stage} ({self.to_status})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A stage transition is history: it is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A stage transition is history: it is never deleted.")

    @property
    def kind(self) -> str:
        """What happened, in words: opened, moved forward/back, won, stopped, reopened."""
        if not self.from_status:
            return "opened"
        if self.to_status == ProjectStatus.WON:
            return "won"
        if self.to_status == ProjectStatus.STOPPED:
            return "stopped"
        if self.from_status == ProjectStatus.STOPPED:
            return "reopened"
        if self.from_stage and self.from_stage.order > self.to_stage.order:
            return "moved back"
        return "moved forward"
