from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Trim
from django.urls import reverse


class ForecastSource(models.TextChoices):
    """The probability a weighted forecast multiplies each open project's value by
    (DOMAIN.md, "Probabilities, forecasts")."""

    DEFAULT = "default", "stage default %"
    EFFECTIVE = "effective", "effective % (the rep's own where set)"
    HISTORICAL = "historical", "historical win rate (blended)"


class User(AbstractUser):
    """A person who logs in: a sales rep, a sales manager or a pipeline admin (see roles.py)."""

    board_compact = models.BooleanField(
        "compact board cards",
        default=False,
        help_text="Show the board's cards on one or two lines (title, value, %).",
    )
    forecast_source = models.CharField(
        "headline forecast source",
        max_length=10,
        choices=ForecastSource.choices,
        default=ForecastSource.EFFECTIVE,
        db_default=ForecastSource.EFFECTIVE,
        help_text="The source the forecast's verdicts against a target weigh the pipeline by.",
    )

    class Meta(AbstractUser.Meta):
        ordering = ["first_name", "last_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username


def to_choose(users: models.QuerySet["User"]) -> models.QuerySet["User"]:
    """`users` as a select of people lists them: only what User.__str__ reads. A select of
    300 people built each with every column and two dates parsed (5-10 ms a select)."""
    return users.only("username", "first_name", "last_name")


def name_of(path: str = "") -> Coalesce:
    """User.__str__ in SQL for the user at `path` ("owner"; by default the user itself): the
    full name, else the username, for reads that take plain values (the CSV export) and
    sorts by name."""
    prefix = f"{path}__" if path else ""
    full_name = Trim(Concat(F(f"{prefix}first_name"), Value(" "), F(f"{prefix}last_name")))
    return Coalesce(NullIf(full_name, Value("")), F(f"{prefix}username"))


class Team(models.Model):
    """A sales team: a manager and the reps whose pipeline the manager reviews."""

    name = models.CharField(max_length=100)
    manager = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="managed_teams",
        help_text="The sales manager who reviews this team's pipeline.",
    )
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="users_team_name_unique_ci"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("admin:users_team_change", args=[self.pk])
