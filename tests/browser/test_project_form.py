"""The new project form in a real browser, on a desktop and on a phone: a rep finds the account
by typing part of its name, picks it, is asked once about a close date in the past, and lands
on the new project. Screenshots go to /tmp/form-shots/ for a person to look at."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.projects.models import CustomerProject
from tests.browser.pages import log_in

SHOTS = Path("/tmp/form-shots")


def _options(page, **name):
    return page.get_by_role("listbox", name="Matching accounts").get_by_role("option", **name)


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_what_a_rep_types_before_the_pages_script_runs_is_searched(page, live_server, rep):
    """On a slow page, a rep may type in the account field before its script (and htmx) ran:
    what they typed is searched once it runs. The script is held back here until the name is
    typed; the suite once failed by chance on a busy machine where it came late."""
    AccountFactory(owner=rep, name="Nordlicht Energie")
    AccountFactory(owner=rep, name="Nordic Freight")
    log_in(page, live_server, "rep")
    held = []
    page.route("**/project_form*.js", lambda route: held.append(route))
    page.goto(f"{live_server.url}/projects/new/", wait_until="commit")
    field = page.get_by_role("combobox", name="Account")
    field.press_sequentially("nord")
    while not held:
        page.wait_for_timeout(50)
    expect(_options(page)).to_have_count(0)  # nothing answers the typing yet
    held[0].continue_()
    expect(_options(page)).to_have_count(3)  # two accounts, and "Create …"


@pytest.mark.parametrize(("width", "height"), [(1440, 1000), (390, 844)])
def test_a_rep_opens_a_project_picking_the_account_by_typing(
    page, live_server, rep, other_rep, width, height
):
    account = AccountFactory(owner=rep, name="Nordlicht Energie")
    AccountFactory(owner=rep, name="Nordic Freight")
    AccountFactory(owner=other_rep, name="Nordlys Foreign")
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/projects/")
    page.get_by_role("button", name="Open your first project").click()
    expect(page.get_by_role("group", name="The deal")).to_be_visible()

    field = page.get_by_role("combobox", name="Account")
    field.press_sequentially("nord")
    expect(_options(page)).to_have_count(3)  # two accounts, and "Create …"
    expect(_options(page, name=re.compile("Nordlys"))).to_have_count(0)
    _shot(page, f"new-project-list-{width}")
    field.press_sequentially("l")
    expect(_options(page, name=re.compile("Nordic"))).to_have_count(0)
    _options(page, name=re.compile("Nordlicht Energie")).click()
    expect(field).to_have_value("Nordlicht Energie")
    expect(_options(page)).to_have_count(0)

    page.get_by_role("textbox", name="Title", exact=True).fill("Heat pumps for the depot")
    page.get_by_label("Value").fill("48000")
    past = timezone.localdate() - timedelta(days=3)
    page.get_by_label("Expected close date").fill(past.isoformat())
    page.get_by_role("button", name="Open project").click()

    warning = page.locator(".field-warning")
    expect(warning).to_have_text(
        "This date has passed. Save again to keep it, or choose a later one."
    )
    expect(page.get_by_role("combobox", name="Account")).to_have_value("Nordlicht Energie")
    _shot(page, f"new-project-warning-{width}")
    page.get_by_role("button", name="Open project").click()

    expect(page.get_by_role("heading", name="Heat pumps for the depot")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/projects/\d+/$"))
    _shot(page, f"new-project-opened-{width}")
    project = CustomerProject.objects.get()
    assert (project.account, project.expected_close_date) == (account, past)


def test_the_account_is_chosen_with_the_keyboard_or_created_by_name(page, live_server, rep):
    AccountFactory(owner=rep, name="Nordlicht Energie")
    log_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/projects/new/")
    field = page.get_by_role("combobox", name="Account")
    field.press_sequentially("Borealis Freight")
    expect(_options(page)).to_have_text(["Create account “Borealis Freight”"])
    field.press("ArrowDown")
    field.press("Enter")  # picks; does not submit
    expect(page.get_by_label("New account: create it with this name")).to_be_checked()
    page.get_by_role("textbox", name="Title", exact=True).fill("First order")
    page.get_by_role("button", name="Open project").click()
    expect(page.get_by_role("heading", name="First order")).to_be_visible()
    assert CustomerProject.objects.get().account.name == "Borealis Freight"


def test_without_javascript_the_typed_name_is_looked_up(browser, live_server, rep):
    AccountFactory(owner=rep, name="Nordlicht Energie")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/projects/new/")
    page.get_by_role("combobox", name="Account").fill("nordlicht")
    page.get_by_role("textbox", name="Title", exact=True).fill("Deal")
    page.get_by_role("button", name="Open project").click()
    expect(page.get_by_text("No account you can see is named “nordlicht”.")).to_be_visible()
    page.get_by_role("combobox", name="Account").fill("nordlicht energie")
    page.get_by_role("button", name="Open project").click()
    expect(page.get_by_role("heading", name="Deal")).to_be_visible()
    context.close()
