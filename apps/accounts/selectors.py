"""Reads of accounts and contacts, shaped for the pages, and who may see or change them."""

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, Lag

from apps.accounts.models import Account, Contact, RelationshipLevel
from apps.users.models import User
from apps.users.roles import visible_to


def editable_accounts(user: User) -> QuerySet[Account]:
    """The accounts `user` may change (facts, level, contacts, delete): those owned by someone
    whose work they see, so the owner, the owner's manager and admins."""
    return visible_to(user, Account.objects.all())


def visible_accounts(user: User) -> QuerySet[Account]:
    """The accounts `user` may see: the ones they may change (owned by themself for a rep, by
    their teams for a manager, everyone's for an admin), and those on which a project whose
    work they see is (a rep's project on a colleague's account)."""
    # `projects` is the reverse of CustomerProject.account; a subquery keeps rows unique. For an
    # admin both sides are every account and PostgreSQL gets no WHERE at all.
    with_projects = visible_to(user, Account.objects.all(), owner="projects__owner")
    return editable_accounts(user) | Account.objects.filter(pk__in=with_projects.values("pk"))


def with_list_columns(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """Accounts with what the list shows: owner, primary contact's name, number of contacts."""
    contacts = Contact.objects.filter(account=OuterRef("pk")).order_by()
    # Subqueries rather than a join and GROUP BY, which would drop the list's ordering.
    return accounts.select_related("owner").annotate(
        primary_contact_name=Subquery(contacts.filter(is_primary=True).values("name")[:1]),
        contact_count=Coalesce(
            Subquery(contacts.values("account").annotate(count=Count("pk")).values("count")),
            0,
        ),
    )


def level_counts(accounts: QuerySet[Account]) -> dict[int, int]:
    """How many of `accounts` are on each relationship level, counted in one query."""
    rows = accounts.order_by().values("relationship_level").annotate(count=Count("pk"))
    return {row["relationship_level"]: row["count"] for row in rows}


def level_history(account: Account) -> list:
    """Each change of the account's relationship level, newest first: the historical rows where
    the level differs from the row before (the first row is the level it was created with)."""
    rows = (
        Account.history.filter(id=account.pk)
        .select_related("history_user")
        .annotate(previous_level=Window(Lag("relationship_level"), order_by=F("history_id").asc()))
        .order_by("-history_id")
    )
    changes = list(
        rows.filter(Q(previous_level__isnull=True) | ~Q(previous_level=F("relationship_level")))
    )
    for change in changes:
        change.previous_level_label = (
            RelationshipLevel(change.previous_level).label if change.previous_level else ""
        )
    return changes
