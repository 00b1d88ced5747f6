import django_filters
from django.db.models import Exists, OuterRef, Q

from apps.accounts.models import Account, Contact, Industry, RelationshipLevel
from apps.users.models import to_choose
from apps.users.roles import visible_users
from pipeline_crm.search import search_query


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Account name, or a contact's name or email"
    )
    relationship_level = django_filters.ChoiceFilter(
        choices=RelationshipLevel.choices, label="Level", empty_label="All levels"
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=None, label="Account manager", empty_label="Everyone I can see"
    )
    industry = django_filters.ChoiceFilter(
        choices=Industry.choices, label="Industry", empty_label="All industries"
    )
    o = django_filters.OrderingFilter(
        fields=[
            ("name", "name"),
            ("relationship_level", "level"),
            ("industry", "industry"),
            ("owner__first_name", "owner"),
            ("updated_at", "updated"),
        ],
        label="Sort by",
    )

    class Meta:
        model = Account
        fields = ["q", "relationship_level", "owner", "industry"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = to_choose(visible_users(user))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        words = search_query(value)
        by_words = Q(search=words) if words else Q(pk__in=[])
        matching_contact = Contact.objects.filter(account=OuterRef("pk")).filter(
            Q(name__icontains=value) | Q(email__icontains=value) | by_words
        )
        # The text anywhere in the name, or each word starting a word of it (what the
        # navigation's search finds, accents aside): its "all accounts" link lands here.
        return queryset.filter(Q(name__icontains=value) | by_words | Exists(matching_contact))
