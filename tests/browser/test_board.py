"""The board in a real browser: drag and drop, the stop dialog, and the keyboard form."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import Pipeline, StageTransition
from apps.projects.models import CustomerProject
from tests.browser.pages import log_in


@pytest.fixture
def board(page, live_server, rep):
    """Logged in as the rep, on the acquisition board; answers the board's URL."""
    url = (
        live_server.url
        + Pipeline.objects.get(kind="acquisition", is_default=True).get_absolute_url()
    )
    log_in(page, live_server, "rep")
    page.goto(url)
    return url


def _column(page, stage_name):
    return page.get_by_role("list", name=f"Projects in {stage_name}")


def _card(page, title):
    return page.locator("li.card", has_text=title)


def _drag(page, card, target, *, grip=".card-account", end=None):
    """Drag with real mouse moves (SortableJS's fallback mode listens to mouse events), from
    the card's `grip` to the part of `target` in view (or to the point `end`). The target is
    measured once the drag has begun: on a phone, Won and Stop appear only then."""
    card.scroll_into_view_if_needed()
    start = card.locator(grip).bounding_box()
    x, y = start["x"] + min(start["width"] / 2, 40), start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 6, y + 6, steps=3)
    if end is None:
        box = target.bounding_box()
        viewport = page.viewport_size
        left, right = max(box["x"], 0), min(box["x"] + box["width"], viewport["width"])
        top, bottom = max(box["y"], 0), min(box["y"] + box["height"], viewport["height"])
        end = ((left + right) / 2, min(top + 40, (top + bottom) / 2))
    steps = 20
    for step in range(1, steps + 1):
        page.mouse.move(x + (end[0] - x) * step / steps, y + (end[1] - y) * step / steps)
    page.mouse.up()


def test_drag_a_card_to_the_next_stage_and_it_stays_there(page, board, rep):
    project = ProjectFactory(
        title="Fleet deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
    )
    page.reload()
    _drag(page, _card(page, "Fleet deal"), _column(page, "Solution design"))

    expect(page.get_by_role("status")).to_contain_text("Fleet deal moved to Solution design.")
    page.reload()
    expect(
        _column(page, "Solution design").locator("li.card", has_text="Fleet deal")
    ).to_be_visible()
    expect(_column(page, "Qualification").locator("li.card")).to_have_count(0)
    project.refresh_from_db()
    assert project.stage.name == "Solution design"
    assert StageTransition.objects.filter(project=project).count() == 2


def test_stop_a_project_from_the_board_with_a_reason(page, board, rep):
    project = ProjectFactory(
        title="Doomed deal", account=AccountFactory(owner=rep), stage=stage_named("Decision")
    )
    page.reload()
    _drag(page, _card(page, "Doomed deal"), page.locator("[data-dropzone=stop]"))

    dialog = page.get_by_role("dialog", name="Stop Doomed deal")
    expect(dialog).to_be_visible()
    dialog.get_by_label("The customer chose otherwise").check()
    dialog.get_by_label("Reason").select_option(label="No budget")
    dialog.get_by_label("Note (optional)").fill("Budget moved to next year")
    dialog.get_by_role("button", name="Stop project").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Doomed deal stopped in Decision (No budget)."
    )
    expect(dialog).to_be_hidden()
    expect(_card(page, "Doomed deal")).to_have_count(0)
    project.refresh_from_db()
    stop = StageTransition.objects.filter(project=project).latest()
    assert project.status == "stopped"
    assert (stop.ended_by, stop.stop_reason.name, stop.note) == (
        "customer",
        "No budget",
        "Budget moved to next year",
    )


def test_cancelling_the_stop_dialog_puts_the_card_back(page, board, rep):
    ProjectFactory(
        title="Maybe deal", account=AccountFactory(owner=rep), stage=stage_named("Decision")
    )
    page.reload()
    _drag(page, _card(page, "Maybe deal"), page.locator("[data-dropzone=stop]"))
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(_column(page, "Decision").locator("li.card", has_text="Maybe deal")).to_be_visible()
    assert CustomerProject.objects.get(title="Maybe deal").status == "open"


def test_a_move_that_lost_the_race_shows_who_moved_it(page, board, rep, manager, team):
    project = ProjectFactory(
        title="Raced deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
    )
    page.reload()
    # The manager moves it while the rep's board still shows it in Qualification.
    from apps.pipeline.services import move_project

    move_project(project=project, to_stage=stage_named("Decision"), user=manager, seen_version=1)
    _drag(page, _card(page, "Raced deal"), _column(page, "Solution design"))
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Raced deal was changed by Maria Manager meanwhile \(now in Decision, open")
    )
    expect(_column(page, "Decision").locator("li.card", has_text="Raced deal")).to_be_visible()
    project.refresh_from_db()
    assert project.stage.name == "Decision"


# At scale and on a phone (issue 10): both widths.


@pytest.fixture(params=[1440, 390], ids=["desktop", "phone"])
def width(request, page):
    page.set_viewport_size({"width": request.param, "height": 900 if request.param > 640 else 844})
    return request.param


def _posts(page):
    """The POST requests the page makes from now on."""
    sent = []
    page.on(
        "request", lambda request: sent.append(request.url) if request.method == "POST" else None
    )
    return sent


def test_drag_a_card_by_its_title_to_the_next_stage(page, board, rep, width):
    project = ProjectFactory(
        title="Title grip deal", account=AccountFactory(owner=rep), stage=stage_named("Decision")
    )
    page.reload()
    card = _card(page, "Title grip deal")
    _drag(page, card, _column(page, "Negotiation"), grip=".card-title")

    expect(page.get_by_role("status")).to_contain_text("Title grip deal moved to Negotiation.")
    expect(
        _column(page, "Negotiation").locator("li.card", has_text="Title grip deal")
    ).to_be_visible()
    assert page.url == board  # the title link was not followed
    project.refresh_from_db()
    assert project.stage.name == "Negotiation"


def test_a_click_on_the_title_still_opens_the_project(page, board, rep):
    project = ProjectFactory(title="Click deal", account=AccountFactory(owner=rep))
    page.reload()
    _card(page, "Click deal").get_by_role("link", name="Click deal", exact=True).click()
    expect(page).to_have_url(re.compile(f"/projects/{project.pk}/$"))


def test_a_drop_outside_any_column_moves_nothing(page, board, rep, width):
    project = ProjectFactory(
        title="Stray deal", account=AccountFactory(owner=rep), stage=stage_named("Decision")
    )
    page.reload()
    posts = _posts(page)
    heading = page.get_by_role("heading", name="Customer acquisition").bounding_box()
    # Over the next column first, then let go on the page's heading, outside the board.
    card = _card(page, "Stray deal")
    _drag(page, card, None, end=(heading["x"] + 20, heading["y"] + heading["height"] / 2))

    expect(_column(page, "Decision").locator("li.card", has_text="Stray deal")).to_be_visible()
    page.wait_for_timeout(300)
    assert posts == []
    project.refresh_from_db()
    assert (project.stage.name, project.version) == ("Decision", 1)


def test_move_into_qualification_asks_for_the_fields_in_the_dialog(page, board, rep, width):
    project = ProjectFactory(
        title="Unqualified deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Marketing"),
        present_state="",
        buying_process="",
    )
    page.reload()
    _drag(page, _card(page, "Unqualified deal"), _column(page, "Qualification"))

    dialog = page.get_by_role("dialog", name="Move Unqualified deal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "fill in: present state, customer's buying process."
    )
    expect(dialog.get_by_label("Desired state")).to_have_count(0)  # it is filled in
    # Until the move is made, the card stays where it was.
    expect(
        _column(page, "Marketing").locator("li.card", has_text="Unqualified deal")
    ).to_have_count(1)
    dialog.get_by_label("Present state").fill("Orders by e-mail")
    dialog.get_by_role("button", name="Save and move").click()
    # One field left empty: asked again, with what is wrong, and nothing written.
    expect(dialog.get_by_text("Fill in the customer's buying process.")).to_be_visible()
    project.refresh_from_db()
    assert (project.stage.name, project.version, project.present_state) == ("Marketing", 1, "")
    dialog.get_by_label("Customer's buying process").fill("The COO decides in May")
    dialog.get_by_role("button", name="Save and move").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Unqualified deal moved to Qualification.")
    moved = _column(page, "Qualification").locator("li.card", has_text="Unqualified deal")
    expect(moved).to_be_focused()
    project.refresh_from_db()
    assert (project.stage.name, project.present_state, project.buying_process) == (
        "Qualification",
        "Orders by e-mail",
        "The COO decides in May",
    )
    assert StageTransition.objects.filter(project=project).count() == 2


def test_move_with_the_keyboard_returns_the_focus_to_the_card(page, board, rep, width):
    project = ProjectFactory(
        title="Keyboard deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
    )
    page.reload()
    card = _card(page, "Keyboard deal")
    card.get_by_role("link", name="Move… Keyboard deal").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Move Keyboard deal")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Solution design").check()
    dialog.get_by_role("button", name="Move", exact=True).press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Keyboard deal moved to Solution design.")
    expect(
        _column(page, "Solution design").locator("li.card", has_text="Keyboard deal")
    ).to_be_focused()
    project.refresh_from_db()
    assert project.stage.name == "Solution design"


def test_win_asks_for_confirmation_with_value_and_the_day_it_was_won(page, board, rep, width):
    project = ProjectFactory(
        title="Winning deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Negotiation"),
        value=Decimal("50000"),
        expected_close_date=date(2027, 3, 31),
    )
    page.reload()
    _drag(page, _card(page, "Winning deal"), page.locator("[data-dropzone=won]"))

    dialog = page.get_by_role("dialog", name="Win Winning deal?")
    expect(dialog).to_be_visible()
    assert CustomerProject.objects.get(pk=project.pk).status == "open"  # not yet
    expect(dialog.get_by_label("Value (EUR)")).to_have_value("50000.00")
    today = timezone.localdate()
    # Today, not the expected close date months away.
    expect(dialog.get_by_label("Won on")).to_have_value(today.isoformat())
    dialog.get_by_label("Value (EUR)").fill("48500")
    # A day to come is refused in the dialog, which stays open; nothing is written.
    dialog.get_by_label("Won on").fill((today + timedelta(days=1)).isoformat())
    dialog.get_by_role("button", name="Confirm the win").click()
    expect(dialog).to_contain_text("is in the future")
    assert CustomerProject.objects.get(pk=project.pk).status == "open"
    dialog.get_by_label("Won on").fill(today.isoformat())
    dialog.get_by_role("button", name="Confirm the win").click()

    expect(page.get_by_role("status")).to_contain_text("Winning deal won.")
    expect(_card(page, "Winning deal")).to_have_count(0)
    project.refresh_from_db()
    assert (project.status, project.value, project.expected_close_date) == (
        "won",
        Decimal("48500.00"),
        today,
    )
    assert StageTransition.objects.filter(project=project).latest().value == Decimal("48500.00")


@pytest.mark.parametrize("failure", ["500", "no answer"])
def test_a_failed_move_says_so_and_puts_the_card_back(page, board, rep, width, failure):
    project = ProjectFactory(
        title="Unlucky deal", account=AccountFactory(owner=rep), stage=stage_named("Decision")
    )
    page.reload()
    if failure == "500":
        page.route("**/move/", lambda route: route.fulfill(status=500, body="Server Error"))
    else:
        page.route("**/move/", lambda route: route.abort())
    _drag(page, _card(page, "Unlucky deal"), _column(page, "Negotiation"))

    notice = page.locator("#board-notice")
    expect(notice).to_be_visible()
    why = "the server answered with an error (500)" if failure == "500" else "the server did not"
    expect(notice).to_contain_text(f"The move was not saved: {why}")
    expect(notice).to_contain_text("The card is back where it was.")
    expect(_column(page, "Decision").locator("li.card", has_text="Unlucky deal")).to_be_visible()
    expect(_column(page, "Negotiation").locator("li.card")).to_have_count(0)
    project.refresh_from_db()
    assert project.stage.name == "Decision"


def test_search_narrows_the_board(page, board, rep, width):
    ProjectFactory(
        title="Fleet renewal", account=AccountFactory(owner=rep, name="Harbour Logistics")
    )
    ProjectFactory(title="Pilot", account=AccountFactory(owner=rep, name="Meadow Farms"))
    page.reload()
    expect(page.locator("li.card")).to_have_count(2)
    page.get_by_label("Search the board by project or account").fill("harbour")
    expect(page.locator("li.card")).to_have_count(1)
    expect(_card(page, "Fleet renewal")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=harbour"))
    expect(page.get_by_label("Board total")).to_contain_text("1 open project")


def test_compact_cards_are_remembered(page, board, rep, width):
    ProjectFactory(title="Compact deal", account=AccountFactory(owner=rep))
    page.reload()
    expect(_card(page, "Compact deal").locator(".card-account")).to_be_visible()
    page.get_by_role("button", name="Compact cards").click()
    expect(page.get_by_role("button", name="Compact cards")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(_card(page, "Compact deal").locator(".card-account")).to_be_hidden()
    page.reload()
    expect(_card(page, "Compact deal").locator(".card-account")).to_be_hidden()
    rep.refresh_from_db()
    assert rep.board_compact is True
