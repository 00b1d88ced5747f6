"""What people type is shown as text, never run as markup: markup in every field a person
enters (names, notes, qualification, next steps, stop notes, review notes and actions, and
what admins configure: pipeline, stage and stop reason names) and in the query of every
search and filter comes back escaped on every page and htmx partial that shows it.

Each value carries a word of its own (`Hostile...`), so a page that shows a field escaped is
told from one that does not show it at all."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from apps.accounts.factories import AccountFactory, ContactFactory
from apps.pipeline import services as lifecycle
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import EndedBy, Pipeline, StopReason
from apps.projects.services import add_note
from apps.reviews.models import ActionItem, ReviewMeeting

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
# What must never reach a page as it was typed (the page's own <script src=...> tags are
# not these).
RAW = ["<script>alert(1)", "<img src=x onerror"]


def hostile(word: str, short: bool = False) -> str:
    """A value with both payloads (`short`: the one that fits a phone number)."""
    return f"{word} {IMAGE}" if short else f"{word} {SCRIPT}{IMAGE}"


VALUES = {
    "rep_first_name": hostile("HostileRita"),
    "rep_last_name": hostile("HostileRep"),
    "manager_first_name": hostile("HostileMaria"),
    "team_name": hostile("HostileNorth"),
    "account_name": hostile("HostileAccount"),
    "account_website": f"https://hostile.example/{IMAGE.replace(' ', '/')}",
    "account_notes": hostile("HostileAccountNotes"),
    "contact_name": hostile("HostileContact"),
    "contact_job_title": hostile("HostileJob"),
    "contact_email": 'hostile"><img/src=x/onerror=alert(1)>@example.com',
    "contact_phone": hostile("HPhone", short=True),
    "contact_notes": hostile("HostileContactNotes"),
    "title": hostile("HostileTitle"),
    "present_state": hostile("HostilePresent"),
    "desired_state": hostile("HostileDesired"),
    "buying_process": hostile("HostileBuying"),
    "next_step": hostile("HostileNextStep"),
    "note": hostile("HostileNote"),
    "move_note": hostile("HostileMoveNote"),
    "stopped_title": hostile("HostileStopped"),
    "stop_note": hostile("HostileStopNote"),
    "meeting_notes": hostile("HostileMeetingNotes"),
    "action_text": hostile("HostileAction"),
    "pipeline_name": hostile("HostilePipeline"),
    "stage_name": hostile("HostileStage"),
    "entry_criteria": hostile("HostileCriteria"),
    "stop_reason": hostile("HostileReason"),
}


@pytest.fixture
def work(rep, manager, teammate, pipeline_admin, team):
    """The rep's work with markup in every field a person types, and in the names of the
    people, the team and what an admin configured."""
    rep.first_name, rep.last_name = VALUES["rep_first_name"], VALUES["rep_last_name"]
    rep.save(update_fields=["first_name", "last_name"])
    manager.first_name = VALUES["manager_first_name"]
    manager.save(update_fields=["first_name"])
    team.name = VALUES["team_name"]
    team.save(update_fields=["name"])
    pipeline = Pipeline.objects.get(kind="acquisition", is_default=True)
    pipeline.name = VALUES["pipeline_name"]
    pipeline.save(update_fields=["name"])
    stage = stage_named("Decision")
    stage.name, stage.entry_criteria = VALUES["stage_name"], VALUES["entry_criteria"]
    stage.save(update_fields=["name", "entry_criteria"])
    reason = StopReason.objects.order_by("pk").first()
    reason.name = VALUES["stop_reason"]
    reason.save(update_fields=["name"])

    account = AccountFactory(
        owner=rep,
        name=VALUES["account_name"],
        website=VALUES["account_website"],
        notes=VALUES["account_notes"],
    )
    contact = ContactFactory(
        account=account,
        name=VALUES["contact_name"],
        job_title=VALUES["contact_job_title"],
        email=VALUES["contact_email"],
        phone=VALUES["contact_phone"],
        notes=VALUES["contact_notes"],
        is_primary=True,
    )
    project = ProjectFactory(
        account=account,
        title=VALUES["title"],
        present_state=VALUES["present_state"],
        desired_state=VALUES["desired_state"],
        buying_process=VALUES["buying_process"],
        next_step=VALUES["next_step"],
        next_step_date=timezone.localdate(),  # due today: on My work
        stage=stage_named("Qualification"),
    )
    lifecycle.move_project(
        project=project,
        to_stage=stage,
        user=rep,
        seen_version=project.version,
        note=VALUES["move_note"],
    )
    add_note(project=project, user=rep, text=VALUES["note"])
    stopped = ProjectFactory(account=account, title=VALUES["stopped_title"])
    lifecycle.stop_project(
        project=stopped,
        user=rep,
        seen_version=stopped.version,
        ended_by=EndedBy.CUSTOMER,
        reason=reason,
        note=VALUES["stop_note"],
    )
    now = timezone.now()
    meeting = ReviewMeeting.objects.create(
        manager=manager,
        team=team,
        held_at=now - timedelta(hours=2),
        since=now - timedelta(days=14),
        notes=VALUES["meeting_notes"],
    )
    action = ActionItem.objects.create(
        meeting=meeting,
        owner=rep,
        project=project,
        text=VALUES["action_text"],
        due_date=timezone.localdate() + timedelta(days=3),
        created_by=manager,
    )
    project.refresh_from_db()
    return {
        "account": account,
        "contact": contact,
        "project": project,
        "stopped": stopped,
        "pipeline": pipeline,
        "meeting": meeting,
        "action": action,
        "team": team,
    }


PERSON = ["rep_first_name", "rep_last_name"]
PROJECT_CARD = ["title", "account_name", *PERSON]

# (viewer, URL built from the work, htmx?, the values the page must show escaped)
PAGES = {
    "my work": ("rep", lambda w: "/", False, ["title", "next_step", "action_text"]),
    "manager's home": ("manager", lambda w: "/", False, [*PERSON, "team_name"]),
    "project list": (
        "pipeline_admin",
        lambda w: "/projects/",
        False,
        [*PROJECT_CARD, "stage_name"],
    ),
    "project list, htmx": ("pipeline_admin", lambda w: "/projects/", True, PROJECT_CARD),
    "project detail": (
        "rep",
        lambda w: w["project"].get_absolute_url(),
        False,
        [
            *PROJECT_CARD,
            "present_state",
            "desired_state",
            "buying_process",
            "next_step",
            "note",
            "move_note",
            "stage_name",
            "pipeline_name",
        ],
    ),
    "stopped project detail": (
        "rep",
        lambda w: w["stopped"].get_absolute_url(),
        False,
        ["stopped_title", "stop_note", "stop_reason"],
    ),
    "project edit form": (
        "rep",
        lambda w: f"/projects/{w['project'].pk}/edit/",
        False,
        ["title", "present_state", "desired_state", "buying_process", "next_step"],
    ),
    "new project form for the account": (
        "rep",
        lambda w: f"/projects/new/?account={w['account'].pk}",
        False,
        ["account_name"],
    ),
    "account search, htmx": (
        "rep",
        lambda w: "/projects/new/accounts/?q=HostileAccount",
        True,
        ["account_name"],
    ),
    "board": (
        "pipeline_admin",
        lambda w: w["pipeline"].get_absolute_url(),
        False,
        [*PROJECT_CARD, "stage_name", "pipeline_name", "stop_reason", "team_name"],
    ),
    "board, htmx": (
        "pipeline_admin",
        lambda w: w["pipeline"].get_absolute_url(),
        True,
        [*PROJECT_CARD, "stage_name"],
    ),
    "move page": (
        "rep",
        lambda w: f"/pipeline/projects/{w['project'].pk}/move/",
        False,
        ["title", "stage_name"],
    ),
    "move dialog, htmx": (
        "rep",
        lambda w: f"/pipeline/projects/{w['project'].pk}/move/",
        True,
        ["title"],
    ),
    "win page": ("rep", lambda w: f"/pipeline/projects/{w['project'].pk}/win/", False, ["title"]),
    "stop page": (
        "rep",
        lambda w: f"/pipeline/projects/{w['project'].pk}/stop/",
        False,
        ["title", "stop_reason"],
    ),
    "account list": (
        "pipeline_admin",
        lambda w: "/accounts/",
        False,
        ["account_name", "contact_name", *PERSON],
    ),
    "account detail": (
        "rep",
        lambda w: w["account"].get_absolute_url(),
        False,
        [
            "account_name",
            "account_website",
            "account_notes",
            "contact_name",
            "contact_job_title",
            "contact_email",
            "contact_phone",
            "contact_notes",
            "title",
            "stopped_title",
        ],
    ),
    "account edit form": (
        "rep",
        lambda w: f"/accounts/{w['account'].pk}/edit/",
        False,
        ["account_name", "account_website", "account_notes"],
    ),
    "account delete page": (
        "rep",
        lambda w: f"/accounts/{w['account'].pk}/delete/",
        False,
        ["account_name"],
    ),
    "contact edit form": (
        "rep",
        lambda w: f"/accounts/{w['account'].pk}/contacts/{w['contact'].pk}/edit/",
        False,
        ["contact_name", "contact_job_title", "contact_email", "contact_phone", "contact_notes"],
    ),
    "contact edit form, htmx": (
        "rep",
        lambda w: f"/accounts/{w['account'].pk}/contacts/{w['contact'].pk}/edit/",
        True,
        ["contact_name", "contact_notes"],
    ),
    "search": (
        "rep",
        lambda w: "/search/?q=Hostile",
        False,
        ["account_name", "contact_name", "title"],
    ),
    "search, htmx": (
        "rep",
        lambda w: "/search/?q=Hostile",
        True,
        ["account_name", "contact_name", "title"],
    ),
    "forecast": (
        "manager",
        lambda w: "/forecast/?group=rep",
        False,
        [*PERSON, "team_name", "pipeline_name"],
    ),
    "forecast summary": ("manager", lambda w: "/forecast/summary/", False, []),
    "analytics": (
        "manager",
        lambda w: "/analytics/",
        False,
        [*PERSON, "team_name", "pipeline_name", "stage_name"],
    ),
    "review list": (
        "manager",
        lambda w: "/reviews/",
        False,
        ["team_name", "meeting_notes", "action_text"],
    ),
    "review preparation": (
        "manager",
        lambda w: f"/reviews/prepare/?team={w['team'].pk}",
        False,
        ["team_name", "title", *PERSON],
    ),
    "review bar": (
        "manager",
        lambda w: f"/reviews/prepare/bar/?team={w['team'].pk}&bar=new",
        False,
        ["team_name"],
    ),
    "review meeting": (
        "manager",
        lambda w: w["meeting"].get_absolute_url(),
        False,
        ["team_name", "meeting_notes", "action_text", "title"],
    ),
    "review meeting, the rep's part": (
        "rep",
        lambda w: w["meeting"].get_absolute_url(),
        False,
        ["action_text"],
    ),
}


def _assert_escaped(body: str, shown: list[str], where: str):
    for raw in RAW:
        assert raw not in body, f"{where}: markup as typed: {body[body.find(raw) - 200 :][:400]}"
    for name in shown:
        assert escape(VALUES[name]) in body, f"{where}: {name} is not shown escaped"


@pytest.mark.parametrize("page", PAGES)
def test_markup_people_typed_is_shown_as_text_on_every_page(client, request, work, page):
    """Everything a person or an admin typed comes back escaped: never as a tag the browser
    would run, and as the text typed where the page shows it."""
    viewer, url, htmx, shown = PAGES[page]
    client.force_login(request.getfixturevalue(viewer))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(url(work), **headers)
    assert response.status_code == 200, page
    _assert_escaped(response.content.decode(), shown, page)


# Pages that show back what was typed into a search or a filter (a link with markup in its
# query must not run it either).
REFLECTED = [
    "/search/?q={}",
    "/projects/?q={}",
    "/accounts/?q={}",
    "/projects/new/accounts/?q={}",
    "/reviews/prepare/?since={}",
    "/forecast/?start={}",
    "/analytics/?start={}",
]


@pytest.mark.parametrize("url", REFLECTED)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_markup_in_a_query_is_never_reflected_as_markup(client, manager, url, htmx):
    """A search or a filter shows what was asked as text (or not at all): a link someone is
    sent with markup in its query runs nothing."""
    client.force_login(manager)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(url.format(SCRIPT + IMAGE), **headers)
    assert response.status_code == 200, url
    _assert_escaped(response.content.decode(), [], url)


def test_a_search_shows_the_query_it_answers_escaped(client, rep):
    """The search box keeps what was typed: as text."""
    client.force_login(rep)
    response = client.get("/search/", {"q": SCRIPT + IMAGE})
    assert escape(SCRIPT + IMAGE) in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_next_step_saved_with_markup_comes_back_escaped(client, rep, work, htmx):
    """The next step's block that htmx swaps in after a save shows the saved step as text."""
    client.force_login(rep)
    project = work["project"]
    step = hostile("HostileSaved")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(
        f"/projects/{project.pk}/next-step/",
        {"next_step": step, "next_step_date": "", "version": project.version},
        follow=not htmx,
        **headers,
    )
    assert response.status_code == 200
    body = response.content.decode()
    for raw in RAW:
        assert raw not in body
    assert escape(step) in body
