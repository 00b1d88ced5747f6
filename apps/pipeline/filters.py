from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Account
from apps.pipeline.models import Pipeline, Stage
from apps.projects.models import CustomerProject, ProjectStatus
from apps.projects.selectors import ATTENTION, attention_q
from apps.users.models import name_of, to_choose
from apps.users.roles import visible_teams, visible_users
from pipeline_crm.bounds import DATE, TypedDateFilter
from pipeline_crm.search import equals_any, search_query

# An amount a project's value can be compared with: what the value column can hold (else
# PostgreSQL refuses the comparison, `1e-16384` or `-1e200000` say), in our words.
MONEY = {
    "min_value": 0,
    "max_value": Decimal("999999999999.99"),
    "max_digits": 14,
    "decimal_places": 2,
    "error_messages": {
        "invalid": "Give an amount, such as 25000.",
        "min_value": "Give an amount of 0 or more.",
        **dict.fromkeys(["max_value", "max_whole_digits"], "Give an amount under a trillion."),
        "max_digits": "Give an amount under a trillion, to the cent at most.",
        "max_decimal_places": "Give an amount to the cent at most.",
    },
}


class _StageField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, stage):
        return f"{stage.pipeline}: {stage}"


class _StageFilter(django_filters.ModelChoiceFilter):
    field_class = _StageField


class _Ordering(django_filters.OrderingFilter):
    """The list's sort, with the id last so that equal keys keep one order from page to page
    (and IdsFirstPaginator can read it backwards). The id goes the way the last key does, so
    that one index of (key, id) serves a column both ways. Sorting by % annotates it: the
    unsorted list does not join the stages to count or to page; sorting by account manager
    sorts by the name shown (the full name, else the username)."""

    def filter(self, queryset, value):
        value = [key for key in value or [] if key]
        if not value:  # none, or only empty keys ("o=,"): the list's own order
            return queryset
        sorts = {key.lstrip("-") for key in value}
        if "probability" in sorts:
            queryset = queryset.with_effective_probability()
        if "owner" in sorts:
            queryset = queryset.annotate(owner_name=name_of("owner"))
        queryset = super().filter(queryset, value)
        order = queryset.query.order_by
        return queryset.order_by(*order, "-pk" if str(order[-1]).startswith("-") else "pk")


class ProjectFilter(django_filters.FilterSet):
    """Filters of the project list; the board uses its owner, team, close date and value."""

    q = django_filters.CharFilter(method="search", label="Search", help_text="Title or account")
    # By id, from an account's page: a select of every account would not scale.
    account = django_filters.NumberFilter(field_name="account", widget=forms.HiddenInput)
    owner = django_filters.ModelChoiceFilter(
        queryset=None, label="Account manager", empty_label="Everyone I can see"
    )
    team = django_filters.ModelChoiceFilter(
        queryset=None, field_name="owner__teams", label="Team", empty_label="All teams"
    )
    pipeline = django_filters.ModelChoiceFilter(
        queryset=Pipeline.objects.all(), empty_label="All pipelines"
    )
    stage = _StageFilter(
        queryset=Stage.objects.select_related("pipeline").order_by("pipeline", "order"),
        empty_label="All stages",
    )
    status = django_filters.ChoiceFilter(choices=ProjectStatus.choices, empty_label="Any status")
    close_after = TypedDateFilter(
        field_name="expected_close_date", lookup_expr="gte", label="Closing from", widget=DATE
    )
    close_before = TypedDateFilter(
        field_name="expected_close_date", lookup_expr="lte", label="Closing until", widget=DATE
    )
    value_min = django_filters.NumberFilter(
        field_name="value", lookup_expr="gte", label="Value from", **MONEY
    )
    value_max = django_filters.NumberFilter(
        field_name="value", lookup_expr="lte", label="Value up to", **MONEY
    )
    attention = django_filters.ChoiceFilter(
        choices=ATTENTION, method="needing", label="Needs attention", empty_label="Any project"
    )
    o = _Ordering(
        fields=[
            ("title", "title"),
            ("account__name", "account"),
            ("owner_name", "owner"),  # the name the list shows
            ("stage__order", "stage"),
            ("value", "value"),
            ("effective_probability", "probability"),
            ("expected_close_date", "close"),
            ("updated_at", "updated"),
        ],
    )

    BOARD_FIELDS = ["q", "owner", "team", "close_after", "close_before", "value_min", "value_max"]

    class Meta:
        model = CustomerProject
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = to_choose(visible_users(user))
        self.filters["team"].queryset = visible_teams(user)

    @property
    def active_count(self) -> int:
        """How many filters are set (the sort order is not a filter)."""
        return len([name for name in self.form.changed_data if name != "o"])

    def search(self, queryset, name, value):
        """Each word typed starting a word of the title or of the account's name, accents
        aside: what the navigation's search finds (its "all projects" link comes here),
        from the search indexes. (No index serves text in the middle of a word without
        pg_trgm, which the embedded server lacks: "amm" does not find "Gamma".)"""
        words = search_query(value)
        if not words:
            return queryset if not value.strip() else queryset.none()
        # `account_id = ANY(ARRAY(the accounts found))`: PostgreSQL ORs it with the title's
        # match as two bitmap index scans. (An `IN (subquery)` ORed with it, or a UNION of the
        # two, tests every project or sorts every id when a word matches most of them.)
        accounts = Account.objects.filter(search=words).values("pk")
        return queryset.filter(Q(search=words) | Q(equals_any("account_id", accounts)))

    def needing(self, queryset, name, value):
        now = timezone.now()
        return queryset.with_days_in_stage(now).filter(attention_q(value, timezone.localdate(now)))
