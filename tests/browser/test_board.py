"""The board in a real browser: drag and drop, the stop dialog, and the keyboard form."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.pipeline.models import Pipeline, StageTransition
from apps.projects.factories import ProjectFactory, stage_named
from apps.projects.models import CustomerProject
from apps.users.factories import PASSWORD


@pytest.fixture
def board(page, live_server, rep):
    """Logged in as the rep, on the acquisition board; answers the board's URL."""
    url = (
        live_server.url
        + Pipeline.objects.get(kind="acquisition", is_default=True).get_absolute_url()
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url)
    return url


def _column(page, stage_name):
    return page.get_by_role("list", name=f"Projects in {stage_name}")


def _card(page, title):
    return page.locator("li.card", has_text=title)


def _drag(page, card, target):
    """Drag with real mouse moves (SortableJS's fallback mode listens to mouse events). The
    grip is the account line: the title is a link, which does not start a drag."""
    start = card.locator(".card-account").bounding_box()
    end = target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    steps = 20
    for step in range(1, steps + 1):
        page.mouse.move(
            x + (end["x"] + end["width"] / 2 - x) * step / steps,
            y + (end["y"] + 40 - y) * step / steps,
        )
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


def test_move_with_the_keyboard(page, board, rep):
    project = ProjectFactory(
        title="Keyboard deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
    )
    page.reload()
    card = _card(page, "Keyboard deal")
    card.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the card's Move menu
    select = card.get_by_label("Move to")
    expect(select).to_be_visible()
    select.focus()
    select.select_option(label="Solution design")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Move")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Keyboard deal moved to Solution design.")
    page.reload()
    expect(
        _column(page, "Solution design").locator("li.card", has_text="Keyboard deal")
    ).to_be_visible()
    project.refresh_from_db()
    assert project.stage.name == "Solution design"


def test_a_drop_that_needs_the_qualification_says_what_is_missing(page, board, rep):
    ProjectFactory(
        title="Unqualified deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Marketing"),
        present_state="",
    )
    page.reload()
    _drag(page, _card(page, "Unqualified deal"), _column(page, "Solution design"))
    expect(page.get_by_role("alert")).to_contain_text("fill in: present state")
    expect(page.get_by_role("alert").get_by_role("link", name="Fill them in")).to_be_visible()
    expect(
        _column(page, "Marketing").locator("li.card", has_text="Unqualified deal")
    ).to_be_visible()
    assert CustomerProject.objects.get(title="Unqualified deal").stage.name == "Marketing"


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
