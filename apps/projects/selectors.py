"""Reads of customer projects, shaped for the pages, and who may see them."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Sum, When
from django.utils import timezone

from apps.accounts.models import Account, Contact
from apps.accounts.selectors import visible_accounts
from apps.projects.models import NEXT_STEP_DUE, CustomerProject, ProjectStatus, next_step_q
from apps.users.models import Team, User
from apps.users.roles import visible_to
from pipeline_crm.search import search_query


def visible_projects(user: User) -> QuerySet[CustomerProject]:
    """The projects `user` may see and work on: their own (a rep), their teams' (a manager),
    everyone's (an admin). Every view, filter, export and the board's move endpoint use it."""
    return visible_to(user, CustomerProject.objects.all())


def with_list_columns(projects: QuerySet[CustomerProject]) -> QuerySet[CustomerProject]:
    """What lists and cards show: account, owner, stage, pipeline, effective %, weighted value."""
    return projects.select_related(
        "account", "owner", "stage", "pipeline"
    ).with_effective_probability()


def project_for_detail(user: User, pk: int) -> CustomerProject:
    """One visible project with what its page shows (raises DoesNotExist otherwise)."""
    return with_list_columns(visible_projects(user)).prefetch_related("notes__author").get(pk=pk)


# What needs a rep's attention, in the order My work lists it: the next steps by how they
# stand (NEXT_STEP_DUE), then the projects stuck in their stage and those past their close
# date. Each is a condition on open projects annotated `with_days_in_stage`, so the lists,
# the counts per rep and team and the project list's filters are one rule.
ATTENTION = [
    *NEXT_STEP_DUE,
    ("stale", "Longer in their stage than usual"),
    ("late", "Close date passed while open"),
]
LISTED = 5  # rows each list of My work shows; its count is complete


def attention_q(key: str, today: date) -> Q:
    """The condition for one kind of attention (a key of ATTENTION) on `today`."""
    if key == "stale":
        return Q(status=ProjectStatus.OPEN, is_stuck=True)
    if key == "late":
        return Q(status=ProjectStatus.OPEN, expected_close_date__lt=today)
    return next_step_q(key, today)


_LIST_ORDER = {
    "overdue": ["next_step_date", "pk"],
    "today": ["title", "pk"],
    "week": ["next_step_date", "pk"],
    "missing": ["-value", "pk"],
    "stale": ["-days_in_stage", "pk"],
    "late": ["expected_close_date", "pk"],
}


@dataclass
class WorkList:
    key: str
    title: str
    count: int
    projects: list[CustomerProject]


@dataclass
class WorkRow:
    """One rep's or team's open projects: how many need each kind of attention, and the
    open pipeline's count, value and weighted value."""

    label: str
    query: str  # the project list's filter for this row (owner=… or team=…)
    counts: dict[str, int]
    open: int
    value: Decimal
    weighted: Decimal
    is_total: bool = False

    @property
    def cells(self) -> list[tuple[str, str, int]]:
        """(key, title, count) of each kind of attention, in ATTENTION's order."""
        return [(key, title, self.counts[key]) for key, title in ATTENTION]


def _open_annotated(projects: QuerySet[CustomerProject], now: datetime):
    return projects.open().with_days_in_stage(now).with_effective_probability()


def _sums(today: date) -> dict:
    return {
        **{key: Count("pk", filter=attention_q(key, today)) for key, _ in ATTENTION},
        "open": Count("pk"),
        "value": Sum("value", default=Decimal(0)),
        "weighted": Sum("weighted_value", default=Decimal(0)),
    }


def my_work(user: User, *, now: datetime) -> tuple[list[WorkList], dict]:
    """The lists of a person's own open projects that need attention (`LISTED` rows each,
    with full counts) and their open pipeline's totals. One query per list and one for all
    the counts."""
    today = timezone.localdate(now)
    own = _open_annotated(CustomerProject.objects.filter(owner=user), now)
    totals = own.aggregate(**_sums(today))
    lists = []
    for key, title in ATTENTION:
        rows = with_list_columns(own.filter(attention_q(key, today)))
        rows = list(rows.order_by(*_LIST_ORDER[key])[:LISTED]) if totals[key] else []
        lists.append(WorkList(key, title, totals[key], rows))
    return lists, totals


def work_by_rep(reps: QuerySet[User], *, now: datetime) -> list[WorkRow]:
    """The attention counts and open pipeline of each of `reps` (those without open
    projects too), by name. Two queries."""
    sums = _sums_by(CustomerProject.objects.filter(owner__in=reps), "owner", now)
    return [
        _row(str(rep), f"owner={rep.pk}", sums.get(rep.pk))
        for rep in reps.order_by("first_name", "last_name", "username")
    ]


def work_by_team(teams: QuerySet[Team], *, now: datetime) -> list[WorkRow]:
    """The same per team (a project counts in each team its owner is in), by name."""
    sums = _sums_by(CustomerProject.objects.filter(owner__teams__in=teams), "owner__teams", now)
    return [
        _row(team.name, f"team={team.pk}", sums.get(team.pk)) for team in teams.order_by("name")
    ]


def _sums_by(projects: QuerySet[CustomerProject], key: str, now: datetime) -> dict:
    """The open `projects`' sums (`_sums`) for each value of `key`. One query."""
    rows = _open_annotated(projects, now).values(key).annotate(**_sums(timezone.localdate(now)))
    return {row.pop(key): row for row in rows.order_by()}


def _row(label: str, query: str, sums: dict | None) -> WorkRow:
    sums = sums or {**{key: 0 for key, _ in ATTENTION}, "open": 0, "value": 0, "weighted": 0}
    return WorkRow(
        label=label,
        query=query,
        counts={key: sums[key] for key, _ in ATTENTION},
        open=sums["open"],
        value=sums["value"],
        weighted=sums["weighted"],
    )


def work_total(projects: QuerySet[CustomerProject], *, now: datetime) -> WorkRow:
    """The same for all of `projects` (the organisation's, for an admin). One query."""
    sums = _open_annotated(projects, now).aggregate(**_sums(timezone.localdate(now)))
    row = _row("All", "", sums)
    row.is_total = True
    return row


SEARCH_LISTED = 8  # rows of each kind the search shows


@dataclass
class Found:
    """What a search found of one kind: at most SEARCH_LISTED rows, and whether there are
    more (the lists behind "all" take the same words)."""

    rows: list
    more: bool


def search(user: User, text: str) -> dict[str, Found] | None:
    """Accounts, contacts and projects `user` may see whose names have words starting with
    each word typed, accents and case aside (pipeline_crm/search.py); None when nothing
    searchable was typed. Three queries, each over its table's search index."""
    query = search_query(text)
    if query is None:
        return None
    found = {
        "accounts": visible_accounts(user).filter(search=query).select_related("owner"),
        "contacts": Contact.objects.filter(
            account__in=visible_accounts(user), search=query
        ).select_related("account"),
        "projects": with_list_columns(visible_projects(user).filter(search=query)),
    }
    open_first = Case(When(status=ProjectStatus.OPEN, then=0), default=1)
    order = {
        "accounts": ["name", "pk"],
        "contacts": ["name", "pk"],
        "projects": [open_first, "title", "pk"],
    }
    results = {}
    for kind, rows in found.items():
        rows = list(rows.order_by(*order[kind])[: SEARCH_LISTED + 1])
        results[kind] = Found(rows[:SEARCH_LISTED], more=len(rows) > SEARCH_LISTED)
    return results


ACCOUNT_CHOICES_LISTED = 10


@dataclass
class AccountChoices:
    accounts: list
    more: bool = False
    create: str = ""  # the name typed, when no account has it: offered as a new account
    taken: str = ""  # the name typed, when an account the user may not see has it


def account_choices(user, text: str) -> AccountChoices | None:
    """The account field's offer, in two queries whatever was typed: the visible accounts whose
    names have words starting with each word typed (accents and case aside, by name, at most
    ten; the one named exactly so first), and whether any account at all has the exact name.
    None when nothing was typed."""
    name = " ".join(text.split())
    if not name:
        return None
    query = search_query(name)
    rows = []
    if query is not None:
        matching = visible_accounts(user).filter(search=query).select_related("owner")
        rows = list(matching.order_by("name", "pk")[: ACCOUNT_CHOICES_LISTED + 1])
    found = AccountChoices(
        accounts=rows[:ACCOUNT_CHOICES_LISTED], more=len(rows) > ACCOUNT_CHOICES_LISTED
    )
    if "\x00" in name or len(name) > 200:
        return found  # no account can be named so
    same_name = (
        Account.objects.filter(name__iexact=name)
        .select_related("owner")
        .annotate(visible=Exists(visible_accounts(user).filter(pk=OuterRef("pk"))))
        .first()
    )
    if same_name is None:
        found.create = name
    elif not same_name.visible:
        found.taken = name
    elif same_name not in found.accounts:
        found.accounts = [same_name, *found.accounts[: ACCOUNT_CHOICES_LISTED - 1]]
    return found
