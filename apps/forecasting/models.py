from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Target(models.Model):
    """What a rep or a team should win in a month or a quarter: set by their manager or an
    admin, shown against the forecast (attainment, gap, coverage)."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    team = models.ForeignKey(
        "users.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="targets"
    )
    kind = models.CharField("period", max_length=10, choices=PeriodKind.choices)
    starts = models.DateField(help_text="The first day of the month or quarter.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rep__isnull=True, team__isnull=False)
                | Q(rep__isnull=False, team__isnull=True),
                name="forecasting_target_rep_or_team",
                violation_error_message="A target is for a rep or for a team.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="forecasting_target_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(starts__day=1)
                & (Q(kind=PeriodKind.MONTH) | Q(starts__month__in=[1, 4, 7, 10])),
                name="forecasting_target_starts_a_period",
                violation_error_message="A target starts on the first day of its month or quarter.",
            ),
            models.UniqueConstraint(
                fields=["rep", "kind", "starts"],
                condition=Q(rep__isnull=False),
                name="forecasting_target_one_per_rep_period",
            ),
            models.UniqueConstraint(
                fields=["team", "kind", "starts"],
                condition=Q(team__isnull=False),
                name="forecasting_target_one_per_team_period",
            ),
        ]

    def __str__(self):
        return f"{self.rep or self.team}: {self.amount} ({self.kind} from {self.starts})"
