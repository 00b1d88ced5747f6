"""Who may open and change what, for every URL of the URL conf: each role (anonymous, the
object's owner, a teammate, a rep of another team, the owner's manager, another manager, an
admin) against a rep's object and against another team's, as DESIGN.md says ("Visibility"):
a rep sees and changes their own work, a manager their teams', an admin everyone's; what a
user may not see is a 404, even by URL; a refused write writes nothing at all.

`PAGES` classifies every pattern of the URL conf (read from it, as test_every_url.py does);
a pattern it does not know fails `test_every_url_pattern_of_the_app_is_in_the_table`, so a
new page cannot go untested. Each cell is a test of its own, named by URL, role and whose
object. The cast and their work are built once for the module, in a transaction rolled back
at its end; each cell runs in a savepoint of it (pytest-django's `db`), so a write one cell
makes is gone before the next and hundreds of cells cost one setup."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.factories import AccountFactory, ContactFactory
from apps.pipeline import services as lifecycle
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import EndedBy, Pipeline, StopReason
from apps.projects.services import add_note
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.users.factories import CAST, TeamFactory, cast_member

ROLES = ["anonymous", "rep", "teammate", "other_rep", "manager", "other_manager", "pipeline_admin"]
# Whose object a URL is about: the rep's (team North, managed by `manager`) or the other
# team's (`other_rep`, team South, managed by `other_manager`).
OWNERS = ["rep", "other_rep"]
# Every name, note and title of an owner's work carries their word, and only theirs: a page
# showing the word shows that owner's work. Both carry "Zebra", for searches that find both.
WORD = {"rep": "Quokka", "other_rep": "Wombat"}
# Whose work each role may see (apps/users/roles.visible_users): a rep only their own, so a
# teammate sees none of the rep's; a manager their teams'; an admin everyone's.
SEES = {
    "rep": {"rep", "manager", "pipeline_admin"},
    "other_rep": {"other_rep", "other_manager", "pipeline_admin"},
}
# Who reviews an owner's work, holds their meetings and sets their targets (roles.managed).
MANAGES = {"rep": {"manager", "pipeline_admin"}, "other_rep": {"other_manager", "pipeline_admin"}}
MANAGERS = {"manager", "other_manager", "pipeline_admin"}


# The expected answer for a role and an owner (None for a URL about nobody's work).
def answer(status: int) -> Callable:
    return lambda role, owner: status


def if_seen(status: int = 200) -> Callable:
    """Another's work does not exist for whoever may not see it: a 404."""
    return lambda role, owner: status if role in SEES[owner] else 404


def if_managed(status: int = 200) -> Callable:
    return lambda role, owner: status if role in MANAGES[owner] else 404


def managers_only(role, owner):
    return 200 if role in MANAGERS else 404


def admin_only(status: int) -> Callable:
    return lambda role, owner: status if role == "pipeline_admin" else 404


POST_ONLY = answer(405)


# The expected answer to a POST: (status, whether it writes).
def writes_if_seen(status: int = 302, refused: int = 404) -> Callable:
    return lambda role, owner: (status, True) if role in SEES[owner] else (refused, False)


def writes_if_managed(shown_status: int = 302) -> Callable:
    """Only whoever manages the owner writes; the owner, who sees it, is refused in words
    (`shown_status`); anyone else gets a 404."""

    def expected(role, owner):
        if role in MANAGES[owner]:
            return 302, True
        return (shown_status, False) if role in SEES[owner] else (404, False)

    return expected


@dataclass(frozen=True)
class Page:
    """What each role gets from one URL pattern. `about` names the kind of object the URL (or
    its query or form) is about, one of the cast's `work` keys; None for a page about nobody's
    work. `shows`: a 200 shows the work the role may see (lists, searches) or the object of
    the URL. `post`: the answer to a POST and whether it writes, for the patterns that take
    one; `data` builds the form, valid for whoever may send it, so a refusal is the role's."""

    get: Callable
    about: str | None = None
    owned: bool = True  # False: the object is the organisation's (a pipeline, a stage)
    kwargs: Callable = lambda work: {}
    query: Callable = lambda work: ""
    shows: bool = False
    anonymous: int = 302
    post: Callable | None = None
    data: Callable = lambda work, user: {}


def pk(kind):
    return lambda work: {"pk": work[kind].pk}


def _contact(work):
    return {"pk": work["account"].pk, "contact_pk": work["contact"].pk}


def version_of(kind):
    """The form of a write that asks for nothing but the version the user saw."""
    return lambda work, user: {"version": work[kind].version}


def shown(kind, **options) -> Page:
    """The page of one object of an owner's work (`work[kind]`, its pk in the URL): opened by
    whoever sees that work, and it shows the object."""
    return Page(**{"get": if_seen(), "about": kind, "kwargs": pk(kind), "shows": True, **options})


def posted(kind, **options) -> Page:
    """A write to one object of an owner's work (`work[kind]`, its pk in the URL) that takes
    only a POST: by whoever sees that work unless `post` says otherwise."""
    defaults = {"get": POST_ONLY, "about": kind, "kwargs": pk(kind), "post": writes_if_seen()}
    return Page(**{**defaults, **options})


def today():
    return timezone.localdate()


PROJECT_FORM = {
    "value": "25000",
    "present_state": "Paper forms",
    "desired_state": "One system",
    "buying_process": "The board signs",
}


def _project_edit(work, user):
    project = work["project"]
    return {
        **PROJECT_FORM,
        "title": f"{project.title} renamed",
        "owner": project.owner_id,
        "version": project.version,
    }


def _project_create(work, user):
    account = work["account"]
    return {
        **PROJECT_FORM,
        "title": "Zebra new deal",
        "account": account.pk,
        "account_name": account.name,
        "owner": user.pk,
    }


def _account_edit(work, user):
    account = work["account"]
    return {
        "name": f"{account.name} renamed",
        "relationship_level": account.relationship_level,
        "owner": account.owner_id,
        "version": account.version,
    }


PAGES = {
    # Users: the home page, the health check, logging in and out, the password.
    "home": Page(get=answer(200)),
    "health": Page(get=answer(200), anonymous=200),
    "login": Page(get=answer(302), anonymous=200),  # signed in: sent on
    "logout": Page(get=answer(405), post=lambda role, owner: (302, False)),
    "password_change": Page(get=answer(200)),
    "password_change_done": Page(get=answer(200)),
    "accounts/login/": Page(get=answer(301), anonymous=301),  # Django's habit, to /login/
    # Accounts: a rep changes their own; the owner's manager and admins too.
    "accounts:list": Page(get=answer(200), shows=True),
    "accounts:export": Page(get=answer(200), shows=True),
    "accounts:create": Page(
        get=answer(200),
        post=lambda role, owner: (302, True),
        data=lambda work, user: {"name": "Zebra Fresh", "relationship_level": 1, "owner": user.pk},
    ),
    "accounts:detail": shown("account"),
    "accounts:edit": shown("account", post=writes_if_seen(), data=_account_edit),
    # Without projects, so the owner may delete it.
    "accounts:delete": shown("spare_account", post=writes_if_seen()),
    "accounts:contact_create": shown(
        "account", post=writes_if_seen(), data=lambda work, user: {"name": "Zebra Newcomer"}
    ),
    "accounts:contact_edit": shown(
        "contact",
        kwargs=_contact,
        post=writes_if_seen(),
        data=lambda work, user: {"name": f"{work['contact'].name} renamed"},
    ),
    "accounts:contact_delete": posted("contact", kwargs=_contact),
    # The board (every pipeline's, showing what the user may see) and the lifecycle.
    "pipeline:index": Page(get=answer(302)),
    "pipeline:board": Page(
        get=answer(200), about="pipeline", owned=False, kwargs=pk("pipeline"), shows=True
    ),
    "pipeline:compact": Page(  # a setting of the user's own
        get=POST_ONLY,
        about="pipeline",
        owned=False,
        kwargs=pk("pipeline"),
        post=lambda role, owner: (302, True),
        data=lambda work, user: {"compact": "on"},
    ),
    "pipeline:move": shown(
        "project",
        post=writes_if_seen(),
        data=lambda work, user: {
            "to_stage": stage_named("Marketing").pk,  # back: asks for nothing
            "version": work["project"].version,
        },
    ),
    "pipeline:win": shown(
        "project",
        post=writes_if_seen(),
        data=lambda work, user: {
            "version": work["project"].version,
            "value": "30000",
            "expected_close_date": today().isoformat(),
        },
    ),
    "pipeline:stop": shown(
        "project",
        post=writes_if_seen(),
        data=lambda work, user: {
            "version": work["project"].version,
            "ended_by": EndedBy.CUSTOMER,
            "reason": StopReason.objects.order_by("pk").first().pk,
        },
    ),
    "pipeline:reopen": posted("stopped_project", data=version_of("stopped_project")),
    # A manager's or an admin's; the rep is told no.
    "pipeline:undo_win": posted(
        "won_project", post=writes_if_managed(), data=version_of("won_project")
    ),
    # Projects.
    "projects:list": Page(get=answer(200), shows=True),
    "projects:export": Page(get=answer(200), shows=True),
    "projects:create": Page(  # on an account the user may see; any other is refused
        get=answer(200),
        about="account",
        query=lambda work: f"?account={work['account'].pk}",
        post=writes_if_seen(refused=200),
        data=_project_create,
    ),
    "projects:account_search": Page(get=answer(200), query=lambda work: "?q=Zebra", shows=True),
    "projects:detail": shown("project"),
    "projects:edit": shown("project", post=writes_if_seen(), data=_project_edit),
    "projects:note_create": posted(
        "project", data=lambda work, user: {"text": "Zebra called back"}
    ),
    "projects:next_step": posted(
        "project",
        data=lambda work, user: {
            "next_step": "Zebra demo",
            "next_step_date": (today() + timedelta(days=3)).isoformat(),
            "version": work["project"].version,
        },
    ),
    "search": Page(get=answer(200), query=lambda work: "?q=Zebra", shows=True),
    # Forecast and analytics: figures over the work each role sees.
    "forecasting:forecast": Page(get=answer(200)),
    "forecasting:export": Page(get=answer(200)),
    "forecasting:summary": Page(get=answer(200)),
    "forecasting:target_set": Page(  # for a rep one manages; refused in words otherwise
        get=POST_ONLY,
        about="owner",
        post=lambda role, owner: (302, role in MANAGES[owner]),
        data=lambda work, user: {
            "who": f"rep:{work['owner'].pk}",
            "kind": "month",
            "starts": today().isoformat(),
            "amount": "50000",
        },
    ),
    "forecasting:source": Page(  # a setting of the user's own
        get=POST_ONLY,
        post=lambda role, owner: (302, True),
        data=lambda work, user: {"source": "default"},
    ),
    "analytics": Page(get=answer(200)),
    # Reviews: a manager reviews their teams and reps; a rep opens the meetings that covered
    # them (here: their one-to-one, which a teammate may not open).
    "reviews:list": Page(get=answer(200)),
    "reviews:prepare": Page(
        get=managers_only, about="team", query=lambda work: f"?team={work['team'].pk}"
    ),
    "reviews:bar": Page(
        get=if_managed(), about="team", query=lambda work: f"?team={work['team'].pk}&bar=new"
    ),
    "reviews:hold": Page(
        get=POST_ONLY,
        about="team",
        post=lambda role, owner: (302, True) if role in MANAGES[owner] else (404, False),
        data=lambda work, user: {"team": work["team"].pk},
    ),
    "reviews:meeting": shown("meeting"),
    "reviews:notes": posted(
        "meeting",
        post=writes_if_managed(),
        data=lambda work, user: {"notes": "Zebra agreed", "version": work["meeting"].version},
    ),
    "reviews:action_add": posted(
        "meeting",
        post=writes_if_managed(),
        data=lambda work, user: {
            "owner": work["owner"].pk,
            "text": "Zebra follow-up",
            "due_date": (today() + timedelta(days=3)).isoformat(),
        },
    ),
    # Its owner's, or the meeting's manager's, or an admin's.
    "reviews:action_done": posted("action", data=lambda work, user: {"done": "1"}),
}


def _patterns(patterns=None, prefix="", namespace=""):
    """(key, route) of every pattern of the app but the admin's (tested below from its
    registry): the key is the URL's name with its namespace, or the route when unnamed."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if route.startswith("admin/"):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else route), route


PATTERNS = dict(_patterns())


def test_every_url_pattern_of_the_app_is_in_the_table():
    """A page added to the URL conf without a line in PAGES would go untested: fail until
    someone says who may open it. A line for a page that is gone fails too."""
    assert "pipeline:move" in PATTERNS and len(PATTERNS) > 40
    assert set(PATTERNS) - set(PAGES) == set(), "URL patterns with no expectations"
    assert set(PAGES) - set(PATTERNS) == set(), "expectations for URLs that are gone"


# The cast, built once for the module.


@dataclass
class Cast:
    users: dict
    work: dict = field(default_factory=dict)  # owner (None: the organisation's) -> kind -> object
    sessions: dict = field(default_factory=dict)  # role -> session key


def _work_of(owner, manager, team, word):
    """An owner's work, each name carrying their word: an account with a contact and three
    projects (open in Qualification, won, stopped), an account without projects, a note,
    their one-to-one review with their manager and an action from it."""
    account = AccountFactory(
        owner=owner, name=f"{word} Zebra Holdings", notes=f"{word} account notes"
    )
    contact = ContactFactory(account=account, name=f"{word} Zebra Contact")
    spare = AccountFactory(owner=owner, name=f"{word} Zebra Spare")
    project = ProjectFactory(
        account=account, title=f"{word} Zebra open deal", stage=stage_named("Qualification")
    )
    add_note(project=project, user=owner, text=f"{word} note on the deal")
    won = ProjectFactory(
        account=account, title=f"{word} Zebra won deal", stage=stage_named("Negotiation")
    )
    lifecycle.win_project(project=won, user=owner, seen_version=won.version)
    stopped = ProjectFactory(account=account, title=f"{word} Zebra stopped deal")
    lifecycle.stop_project(
        project=stopped,
        user=owner,
        seen_version=stopped.version,
        ended_by=EndedBy.US,
        reason=StopReason.objects.order_by("pk").first(),
    )
    now = timezone.now()
    meeting = ReviewMeeting.objects.create(
        manager=manager,
        rep=owner,
        held_at=now - timedelta(days=1),
        since=now - timedelta(days=15),
        notes=f"{word} meeting notes",
    )
    action = ActionItem.objects.create(
        meeting=meeting,
        owner=owner,
        project=project,
        text=f"{word} action",
        due_date=today() + timedelta(days=7),
        created_by=manager,
    )
    for item in (project, won, stopped, account):
        item.refresh_from_db()
    return {
        "owner": owner,
        "team": team,
        "account": account,
        "contact": contact,
        "spare_account": spare,
        "project": project,
        "won_project": won,
        "stopped_project": stopped,
        "meeting": meeting,
        "action": action,
    }


def build_cast() -> Cast:
    """The conftest cast (same names and teams) with each rep's work."""
    users = {username: cast_member(username) for username in CAST}
    north = TeamFactory(
        name="North", manager=users["manager"], members=[users["rep"], users["teammate"]]
    )
    south = TeamFactory(name="South", manager=users["other_manager"], members=[users["other_rep"]])
    cast = Cast(users=users)
    cast.work["rep"] = _work_of(users["rep"], users["manager"], north, WORD["rep"])
    cast.work["other_rep"] = _work_of(
        users["other_rep"], users["other_manager"], south, WORD["other_rep"]
    )
    cast.work[None] = {
        "pipeline": Pipeline.objects.get(kind="acquisition", is_default=True),
        "stage": stage_named("Decision"),
    }
    return cast


@pytest.fixture(scope="module")
def cast(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_cast()
        for role, user in built.users.items():
            client = Client()
            client.force_login(user)
            built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield built
        transaction.set_rollback(True)


def _client(cast, role):
    """A client signed in as `role` on the session opened for it once, with the cast."""
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = cast.sessions[role]
    return client


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _footprint() -> dict[str, str]:
    """A digest of every row of the app's tables (users and their teams and groups, accounts
    and their history, projects, the pipeline's transitions and ledger, targets, reviews),
    in one query: equal before and after a request when it wrote nothing."""
    tables = sorted(
        {
            model._meta.db_table
            for label in ("users", "accounts", "projects", "pipeline", "forecasting", "reviews")
            for model in apps.get_app_config(label).get_models(include_auto_created=True)
        }
    )
    digests = " UNION ALL ".join(
        f"SELECT '{table}', md5(coalesce(string_agg(row::text, '|' ORDER BY row::text), '')) "
        f'FROM "{table}" AS row'
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(digests)
        return dict(cursor.fetchall())


def _cells(method):
    for name, page in PAGES.items():
        if method == "POST" and page.post is None:
            continue
        owners = OWNERS if page.about and page.owned else [None]
        for role in ROLES:
            for owner in owners:
                yield pytest.param(name, role, owner, id=f"{name}-{role}-on-{owner or 'any'}s")


def _url(cast, name, owner):
    page = PAGES[name]
    work = cast.work[owner] if page.about and page.owned else cast.work[None]
    # An unnamed pattern is keyed by its route.
    path = "/" + name if "/" in name else reverse(name, kwargs=page.kwargs(work))
    return path + page.query(work), work


@pytest.mark.parametrize(("name", "role", "owner"), list(_cells("GET")))
def test_each_role_gets_each_page_as_designed_and_sees_only_the_work_it_may(
    cast, db, name, role, owner
):
    """GET answers as the table says: 404 for another's object, a login for an anonymous
    visitor. A page shown shows no word of work the role may not see (lists, searches,
    exports, reviews and every form included), and a list, a search or an object's page shows
    the work it is about."""
    page = PAGES[name]
    url, _ = _url(cast, name, owner)
    response = _client(cast, role).get(url)
    expected = page.anonymous if role == "anonymous" else page.get(role, owner)
    assert response.status_code == expected, url
    if role == "anonymous" and expected == 302:
        assert response["Location"].startswith("/login/?next="), url
    if response.status_code != 200 or role == "anonymous":
        return
    body = _body(response)
    for someone in OWNERS:
        if role not in SEES[someone]:
            assert WORD[someone] not in body, f"{url} shows {someone}'s work to {role}"
    if page.shows:
        shown = [owner] if page.about and page.owned else [o for o in OWNERS if role in SEES[o]]
        for someone in shown:
            assert WORD[someone] in body, f"{url} does not show {someone}'s work to {role}"


@pytest.mark.parametrize(("name", "role", "owner"), list(_cells("POST")))
def test_each_role_may_post_only_what_it_may_change_and_a_refusal_writes_nothing(
    cast, db, name, role, owner
):
    """Each write as each role, with a form valid for whoever may send it: the owner, their
    manager and an admin change it; anyone else is refused (a 404 for what they may not see,
    a message for what they see but may not do) and not one row of the app changes."""
    page = PAGES[name]
    url, work = _url(cast, name, owner)
    client = _client(cast, role)
    user = cast.users.get(role) or cast.users["rep"]
    data = page.data(work, user)
    before = _footprint()
    response = client.post(url, data)
    if role == "anonymous":
        expected, writes = 302, False
    else:
        expected, writes = page.post(role, owner)
    assert response.status_code == expected, (url, _body(response)[:2000])
    if role == "anonymous":
        assert response["Location"].startswith("/login/?next="), url
    if writes is not None:
        assert (_footprint() != before) == writes, f"{url} as {role}: wrote {not writes}"


# The Django admin (pipelines and their stages, stop reasons, teams, users): its URLs come
# from its registry rather than the URL conf, so its pages are listed from the registry.
ADMIN_PAGES = ["admin:index"] + [
    f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
    for model in admin.site._registry
    for view in ("changelist", "add")
]
# What DESIGN.md gives admins to configure; the other models' pages follow the role's model
# permissions (history is read-only: no "add").
CONFIGURATION = ["pipeline_pipeline", "pipeline_stopreason", "users_team", "users_user"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_only_an_admin_opens_the_admin(cast, db, name, role):
    """Configuration is an admin's: anyone else signed in is sent to the admin's login, which
    refuses them (403); an anonymous visitor ends on the one login page."""
    client = _client(cast, role)
    response = client.get(reverse(name))
    if role == "pipeline_admin":
        configures = name == "admin:index" or any(model in name for model in CONFIGURATION)
        assert response.status_code in ((200,) if configures else (200, 403)), name
    elif role == "anonymous":
        if response["Location"].startswith(reverse("admin:login")):
            response = client.get(response["Location"])
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/?next="), name
    else:
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("admin:login")), name
        assert client.get(response["Location"]).status_code == 403, name
