from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from pipeline_crm.bounds import BoundedTextField, text_limit_check


class ReviewMeeting(models.Model):
    """A pipeline review a manager held with a team or with one rep: the changes since
    `since` up to `held_at` (rebuilt from the state ledger whenever the meeting is opened),
    and the notes and actions agreed. Written by apps/reviews/services.py."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="held_reviews"
    )
    team = models.ForeignKey(
        "users.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="reviews"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews",
        help_text="For a one-to-one review; empty for a team's.",
    )
    held_at = models.DateTimeField(default=timezone.now)
    since = models.DateTimeField(help_text="The changes the meeting covered began after this.")
    notes = BoundedTextField(blank=True)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every save of the notes, so a stale page is detected."
    )

    class Meta:
        ordering = ["-held_at", "-pk"]
        get_latest_by = ["held_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=True, rep__isnull=False)
                | Q(team__isnull=False, rep__isnull=True),
                name="reviews_meeting_team_or_rep",
                violation_error_message="A review is for a team or for one rep.",
            ),
            models.CheckConstraint(
                condition=Q(since__lt=F("held_at")),
                name="reviews_meeting_since_before_held",
                violation_error_message="A review covers a time before it was held.",
            ),
            text_limit_check("reviews_meeting", "notes"),
        ]
        indexes = [
            models.Index(fields=["team", "-held_at"], name="reviews_team_held_idx"),
            models.Index(fields=["rep", "-held_at"], name="reviews_rep_held_idx"),
        ]

    def __str__(self):
        return f"Review of {self.scope_label}, {timezone.localtime(self.held_at):%d %b %Y}"

    def get_absolute_url(self):
        return reverse("reviews:meeting", args=[self.pk])

    @property
    def scope_label(self) -> str:
        return str(self.team or self.rep)


class ActionItem(models.Model):
    """Something agreed in a review: who does what by when, maybe about one project. Its
    owner (or the meeting's manager) marks it done."""

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.PROTECT, related_name="actions")
    project = models.ForeignKey(
        "projects.CustomerProject",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_actions",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_actions"
    )
    text = models.CharField(max_length=300)
    due_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, done_by__isnull=True)
                | Q(done_at__isnull=False, done_by__isnull=False),
                name="reviews_action_done_by_whom",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "due_date"],
                name="reviews_action_open_idx",
                condition=Q(done_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.text

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, today=None) -> bool:
        return not self.is_done and self.due_date < (today or timezone.localdate())
