import re

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from simple_history.models import HistoricalRecords

from pipeline_crm.bounds import BoundedTextField, text_limit_check
from pipeline_crm.search import search_vector


class RelationshipLevel(models.IntegerChoices):
    """The ladder an account climbs as the relationship grows (DOMAIN.md). Ordered: a higher
    value is a closer relationship, so "Shopper and up" is `>= SHOPPER`."""

    SUSPECT = 1, "Suspect"
    PROSPECT = 2, "Prospect"
    SHOPPER = 3, "Shopper"
    CLIENT = 4, "Client"
    MEMBER = 5, "Member"
    AMBASSADOR = 6, "Ambassador"
    POSITIVE_ACTIVIST = 7, "Positive Activist"


LEVEL_MEANINGS = {
    RelationshipLevel.SUSPECT: "Identified; we know little.",
    RelationshipLevel.PROSPECT: "We think business is possible.",
    RelationshipLevel.SHOPPER: "Has bought from us once.",
    RelationshipLevel.CLIENT: "Repeat business; we tailor what we offer.",
    RelationshipLevel.MEMBER: "Works with us well; would give a reference.",
    RelationshipLevel.AMBASSADOR: "Promotes us when asked.",
    RelationshipLevel.POSITIVE_ACTIVIST: "Promotes us on their own initiative.",
}


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", "Manufacturing"
    RETAIL = "retail", "Retail and consumer goods"
    FINANCE = "finance", "Finance and insurance"
    HEALTHCARE = "healthcare", "Healthcare and life sciences"
    TECHNOLOGY = "technology", "Technology and software"
    ENERGY = "energy", "Energy and utilities"
    LOGISTICS = "logistics", "Transport and logistics"
    PUBLIC = "public", "Public sector"
    EDUCATION = "education", "Education"
    SERVICES = "services", "Professional services"
    OTHER = "other", "Other"


class Account(models.Model):
    """A company we sell to, owned by one account manager."""

    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    industry = models.CharField(max_length=20, choices=Industry.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name="account manager",
    )
    relationship_level = models.PositiveSmallIntegerField(
        choices=RelationshipLevel.choices, default=RelationshipLevel.SUSPECT
    )
    notes = BoundedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=1,
        help_text="Raised by every write. An edit form sends the version it showed, so a save "
        "over someone else's change is refused instead of silently undoing it.",
    )
    # The name's and the website's words for search (pipeline_crm/search.py), kept by the
    # database.
    search = models.GeneratedField(
        expression=search_vector("name", addresses=["website"]),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    # The version is bookkeeping for the lock, and search is derived: not facts of the account.
    history = HistoricalRecords(excluded_fields=["updated_at", "version", "search"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="accounts_account_name_unique_ci",
                violation_error_message="An account with this name already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(relationship_level__gte=1, relationship_level__lte=7),
                name="accounts_account_relationship_level_valid",
            ),
            text_limit_check("accounts_account", "notes"),
        ]
        indexes = [
            # The account list filtered by owner (every rep's default view) and sorted by name.
            models.Index(fields=["owner", "name"], name="accounts_owner_name_idx"),
            GinIndex(fields=["search"], name="accounts_account_search_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("accounts:detail", args=[self.pk])

    @property
    def level(self) -> RelationshipLevel:
        return RelationshipLevel(self.relationship_level)


class Contact(models.Model):
    """A person at an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    notes = BoundedTextField(blank=True)
    is_primary = models.BooleanField(
        "primary contact",
        default=False,
        help_text="The person we talk to first. An account has at most one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The name's and e-mail address's words and the phone number's digits for search
    # (pipeline_crm/search.py), kept by the database.
    search = models.GeneratedField(
        expression=search_vector("name", addresses=["email"], phones=["phone"]),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-is_primary", "name"]
        indexes = [GinIndex(fields=["search"], name="accounts_contact_search_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(is_primary=True),
                name="accounts_contact_one_primary_per_account",
            ),
            text_limit_check("accounts_contact", "notes"),
        ]

    def __str__(self):
        return self.name

    @property
    def phone_href(self) -> str:
        """The phone number as a tel: link (its digits, with a leading + kept), or ""."""
        digits = re.sub(r"[^0-9]", "", self.phone)
        if not digits:
            return ""
        return f"tel:{'+' if self.phone.strip().startswith('+') else ''}{digits}"
