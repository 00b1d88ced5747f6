"""A rep's day at 1280 px and 390 px (issue 21, section 5): what a rep met on the board, the
project page, the search, the account and contact pages, and on a phone."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory, ContactFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import StopReason
from apps.pipeline.services import stop_project
from tests.browser.pages import log_in


def test_move_to_starts_at_the_next_stage_on_the_project_page(page, live_server, rep):
    project = ProjectFactory(
        title="Fleet deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
    )
    log_in(page, live_server, "rep", project.get_absolute_url())

    move_to = page.get_by_label("Move to")
    expect(move_to).to_have_value(str(stage_named("Solution design").pk))
    page.get_by_role("button", name="Move", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Fleet deal moved to Solution design.")
    project.refresh_from_db()
    assert project.stage.name == "Solution design"


def test_after_the_last_open_stage_move_to_chooses_nothing(page, live_server, rep):
    last_open = stage_named("Negotiation")
    project = ProjectFactory(title="Late deal", account=AccountFactory(owner=rep), stage=last_open)
    log_in(page, live_server, "rep", project.get_absolute_url())

    expect(page.get_by_label("Move to")).to_have_value("")
    expect(page.get_by_label("Move to").locator("option:checked")).to_have_text(
        re.compile("Choose")
    )


def test_an_account_with_projects_offers_no_delete_and_says_why(page, live_server, rep):
    in_use = AccountFactory(owner=rep, name="Busy Ltd")
    ProjectFactory(account=in_use, title="Running deal")
    unused = AccountFactory(owner=rep, name="Quiet Ltd")
    log_in(page, live_server, "rep", in_use.get_absolute_url())

    expect(page.get_by_role("heading", name="Busy Ltd")).to_be_visible()
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    expect(page.locator(".page-head")).to_contain_text(
        "It has customer projects, so it cannot be deleted."
    )
    # Its delete page, reached by its address, says so too and offers no button.
    page.goto(f"{live_server.url}/accounts/{in_use.pk}/delete/")
    expect(page.get_by_role("heading", name="Busy Ltd cannot be deleted")).to_be_visible()
    expect(page.get_by_role("button", name="Delete account")).to_have_count(0)

    page.goto(live_server.url + unused.get_absolute_url())
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete account").click()
    expect(page.get_by_role("status")).to_contain_text("Account Quiet Ltd deleted.")


def test_the_primary_contact_box_takes_a_click(page, live_server, rep):
    account = AccountFactory(owner=rep, name="Harbour Ltd")
    log_in(page, live_server, "rep", account.get_absolute_url())
    page.get_by_role("button", name="Add contact").click()

    page.get_by_label("Name").fill("Anna Berg")
    box = page.get_by_role("checkbox", name="Primary contact")
    box.click()  # on the box itself: Playwright fails when something else takes the click
    expect(box).to_be_checked()
    page.get_by_role("button", name="Add contact").click()

    expect(page.locator("#contacts")).to_contain_text("Anna Berg primary")
    assert account.contacts.get().is_primary


def test_a_next_step_saved_or_done_shows_in_the_timeline_without_a_reload(page, live_server, rep):
    project = ProjectFactory(
        title="Quay cranes", account=AccountFactory(owner=rep), next_step="Send the offer"
    )
    log_in(page, live_server, "rep", project.get_absolute_url())
    page.evaluate("window.notReloaded = true")
    block = page.locator("#next-step")
    first_event = page.get_by_role("region", name="Timeline").get_by_role("listitem").first

    block.get_by_label("What happens next").fill("Call the harbour master")
    block.get_by_role("button", name="Save next step").click()
    expect(first_event).to_contain_text("Next step Call the harbour master")

    block.get_by_role("button", name="Mark done").click()
    expect(block.locator(".next-step-now")).to_contain_text("No next step")
    expect(block.get_by_label("What happens next")).to_have_value("")
    expect(first_event).to_contain_text("Next step cleared")
    expect(block.get_by_role("button", name="Mark done")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    project.refresh_from_db()
    assert (project.next_step, project.next_step_date) == ("", None)
    assert [change.next_step for change in project.next_step_changes.all()][:2] == [
        "",
        "Call the harbour master",
    ]


def _csp_violations(page):
    """What the page reports of the Content-Security-Policy from now on: the browser's console
    lines and the securitypolicyviolation events (with what was refused)."""
    seen = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and seen.append(message.text),
    )
    page.expose_function("reportViolation", lambda text: seen.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => window.reportViolation("
        "`${event.violatedDirective} ${event.sourceFile}:${event.lineNumber} ${event.sample}`))"
    )
    return seen


def test_htmx_swaps_set_no_inline_style(page, live_server, rep):
    """The CSP allows no inline style. htmx settles a swapped-in element by copying the old
    one's class, style, width and height onto it with setAttribute: a style attribute that a
    script had given the old element (through element.style, which the CSP allows) was
    refused as an inline style. And htmx's own indicator styles would be an inline <style>."""
    project = ProjectFactory(
        title="Fleet deal",
        account=AccountFactory(owner=rep, name="Fjord Freight"),
        stage=stage_named("Qualification"),
    )
    violations = _csp_violations(page)
    log_in(page, live_server, "rep", "/pipeline/")

    # The board: a script styles an element that the swap replaces (as SortableJS styles
    # what it drags), then the compact toggle and a move through the dialog swap the board.
    page.evaluate("document.getElementById('compact-toggle').style.outline = '1px solid'")
    page.get_by_role("button", name="Compact cards").click()
    expect(page.get_by_role("button", name="Compact cards")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("link", name="Move… Fleet deal").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Solution design").check()
    dialog.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Fleet deal moved to Solution design.")

    # The navigation's search, and the project page's next step.
    page.get_by_label("Search accounts, contacts and projects").fill("fjord")
    expect(page.locator("#nav-search-results")).to_contain_text("Fjord Freight")
    page.goto(live_server.url + project.get_absolute_url())
    page.locator("#next-step").get_by_label("What happens next").fill("Call Anna")
    page.locator("#next-step").get_by_role("button", name="Save next step").click()
    expect(page.locator("#next-step .next-step-now")).to_contain_text("Call Anna")

    assert violations == []


def _overlap(one, other):
    return not (
        one["x"] + one["width"] <= other["x"]
        or other["x"] + other["width"] <= one["x"]
        or one["y"] + one["height"] <= other["y"]
        or other["y"] + other["height"] <= one["y"]
    )


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_won_and_stop_appear_in_reach_during_a_drag_and_hide_no_column(
    page, live_server, rep, size
):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    account = AccountFactory(owner=rep)
    ProjectFactory(title="Last deal", account=account, stage=stage_named("Negotiation"))
    ProjectFactory(title="Early deal", account=account, stage=stage_named("Qualification"))
    log_in(page, live_server, "rep", "/pipeline/")
    zones = [page.locator("[data-dropzone=won]"), page.locator("[data-dropzone=stop]")]

    # At rest no drop zone lies over a column: the last stage's card takes its own clicks.
    stages = page.locator("section.column:not(.outcome-column)")
    columns = [column.bounding_box() for column in stages.all()]
    for zone in zones:
        box = zone.bounding_box()
        assert box is None or not any(column and _overlap(box, column) for column in columns)
    last = page.locator("li.card", has_text="Last deal")
    last.scroll_into_view_if_needed()
    last.get_by_role("link", name="Move… Last deal").click(trial=True)

    # While a card is dragged, Won and Stop are whole on the screen; Stop takes the drop.
    card = page.locator("li.card", has_text="Early deal")
    card.scroll_into_view_if_needed()
    grip = card.locator(".card-account").bounding_box()
    x, y = grip["x"] + 20, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=3)
    for zone in zones:
        box = zone.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    stop = zones[1].bounding_box()
    end = (stop["x"] + stop["width"] / 2, stop["y"] + stop["height"] / 2)
    for step in range(1, 21):
        page.mouse.move(x + (end[0] - x) * step / 20, y + (end[1] - y) * step / 20)
    page.mouse.up()
    expect(page.get_by_role("dialog", name="Stop Early deal")).to_be_visible()


def test_the_search_finds_by_email_and_phone_tells_projects_apart_and_takes_the_keys(
    page, live_server, rep
):
    harbour = AccountFactory(owner=rep, name="Harbour Ltd", website="https://harbour.example")
    quay = AccountFactory(owner=rep, name="Quay Works")
    ContactFactory(account=harbour, name="Anna Berg", email="anna@harbour.example", phone="")
    ContactFactory(account=quay, name="Bo Holm", email="bo@quay.example", phone="+45 81 61 32 71")
    open_one = ProjectFactory(title="Crane renewal", account=harbour)
    stopped = ProjectFactory(title="Crane renewal", account=quay)
    stop_project(
        project=stopped,
        user=rep,
        seen_version=stopped.version,
        ended_by="customer",
        reason=StopReason.objects.first(),
    )
    log_in(page, live_server, "rep")
    box = page.get_by_label("Search accounts, contacts and projects")
    results = page.locator("#nav-search-results")

    box.fill("8161 3271")
    expect(results.get_by_role("link", name="Bo Holm")).to_be_visible()
    box.fill("anna@harbour")
    expect(results.get_by_role("link", name="Anna Berg")).to_be_visible()

    # Two projects with one title: each says its account and its status.
    box.fill("crane")
    first = results.get_by_role("link", name=re.compile(r"^Crane renewal\W+Harbour Ltd, open$"))
    second = results.get_by_role("link", name=re.compile(r"^Crane renewal\W+Quay Works, stopped$"))
    expect(first).to_be_visible()
    expect(second).to_be_visible()
    listed = results.get_by_role("region", name="Projects").get_by_role("listitem")
    expect(listed).to_have_text(
        [re.compile("Harbour Ltd.*Open"), re.compile("Quay Works.*Stopped")]
    )

    # The keys: down into the results, up back to the box, Escape closes, Enter opens.
    box.press("ArrowDown")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(second).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(results.get_by_role("link")).to_have_count(0)
    expect(box).to_be_focused()
    box.fill("crane renewal")
    expect(second).to_be_visible()
    box.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{stopped.get_absolute_url()}")
    assert open_one.pk != stopped.pk


SECTIONS = ["Home", "Board", "Projects", "Accounts", "Forecast", "Analytics", "Reviews"]


def test_on_a_phone_a_menu_shows_every_section_and_wide_tables_scroll_in_their_box(
    page, live_server, manager, team
):
    page.set_viewport_size({"width": 390, "height": 844})
    ProjectFactory(account=AccountFactory(owner=team.members.first()), title="Phone deal")
    log_in(page, live_server, "manager", "/accounts/")
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] <= 140  # the brand and the menu on a line, then the search

    page.get_by_text("Menu", exact=True).click()
    menu = page.get_by_role("list", name="Sections")
    for section in SECTIONS:
        link = menu.get_by_role("link", name=section, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, section
    menu.get_by_role("link", name="Projects", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/projects/")

    # Pages of wide tables: the page itself never scrolls sideways; a table scrolls in its box.
    for path in ["/projects/", "/accounts/", "/forecast/", "/analytics/", "/"]:
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        outside = page.evaluate(
            """[...document.querySelectorAll('main table')].filter((table) => {
                 const box = table.parentElement;
                 return table.getBoundingClientRect().width > 390
                   && getComputedStyle(box).overflowX !== 'auto';
               }).length"""
        )
        assert outside == 0, path


def test_the_project_lists_headers_break_between_words_only(page, live_server, rep):
    page.set_viewport_size({"width": 1280, "height": 800})
    # A full list: long titles, a long next step, a stage and pipeline name in each row.
    for number in range(3):
        ProjectFactory(
            account=AccountFactory(owner=rep, name=f"Copper Academy {number}"),
            title=f"Data platform for Copper Academy, phase {number}",
            stage=stage_named("Solution design"),
            value=1_250_000,
            next_step="Call the CFO about next year's budget",
            next_step_date=date.today() + timedelta(days=30),
            expected_close_date=date.today() + timedelta(days=90),
        )
    log_in(page, live_server, "rep", "/projects/")
    page.evaluate("document.fonts.ready.then(() => true)")  # measured in the fonts shown
    broken = page.evaluate(
        """[...document.querySelectorAll('table thead th')].flatMap((th) => {
             const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
             const words = [];
             for (let node = walker.nextNode(); node; node = walker.nextNode()) {
               for (const match of node.data.matchAll(/\\S+/g)) {
                 const range = document.createRange();
                 range.setStart(node, match.index);
                 range.setEnd(node, match.index + match[0].length);
                 // A word on one line has one box (or one per character run on that line).
                 const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                 if (tops.size > 1) words.push(match[0]);
               }
             }
             return words;
           })"""
    )
    assert broken == []


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_move_through_the_dialog_is_confirmed_in_view(page, live_server, rep, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    account = AccountFactory(owner=rep)
    for number in range(8):
        ProjectFactory(title=f"Busy deal {number}", account=account, stage=stage_named("Decision"))
    ProjectFactory(title="Fleet deal", account=account, stage=stage_named("Qualification"))
    log_in(page, live_server, "rep", "/pipeline/")

    card = page.locator("li.card", has_text="Fleet deal")
    card.get_by_role("link", name="Move… Fleet deal").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Decision").check()
    dialog.get_by_role("button", name="Move", exact=True).click()

    confirmation = page.get_by_role("status").filter(has_text="Fleet deal moved to Decision.")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_be_in_viewport()
    expect(page.locator("li.card", has_text="Fleet deal")).to_be_focused()
    expect(page.locator("#board")).not_to_contain_text("{#")
    page.get_by_role("button", name="Dismiss the message").click()
    expect(confirmation).to_have_count(0)


def test_on_a_phone_the_card_moved_through_the_dialog_is_shown_whole(page, live_server, rep):
    page.set_viewport_size({"width": 390, "height": 844})
    ProjectFactory(
        title="Fleet deal", account=AccountFactory(owner=rep), stage=stage_named("Raw lead")
    )
    log_in(page, live_server, "rep", "/pipeline/")
    page.get_by_role("link", name="Move… Fleet deal").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Marketing").check()
    dialog.get_by_role("button", name="Move", exact=True).click()

    moved = page.get_by_role("list", name="Projects in Marketing").locator("li.card")
    expect(moved).to_be_focused()
    expect(moved).to_be_in_viewport(ratio=1)
