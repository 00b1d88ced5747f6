"""A review meeting in a real browser: a manager prepares the review of a team, starts the
meeting, steps through it in meeting mode, writes notes and an action; the rep marks the
action done."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.reviews.models import ActionItem, ReviewMeeting
from tests.browser.pages import log_in

NOTES = "Fleet deal: the CFO signs next week. Depot deal needs a second demo."
ACTION = "Book the second demo of the depot deal"


@pytest.fixture
def rep_pipeline(rep):
    """Two open projects of the rep, opened just now: new in the review, and closing today,
    so both weigh in this month's waterfall."""
    today = timezone.localdate()
    ProjectFactory(
        title="Fleet deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Decision"),
        value=Decimal("100000.00"),
        expected_close_date=today,
    )
    ProjectFactory(
        title="Depot deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Solution design"),
        value=Decimal("50000.00"),
        expected_close_date=today,
    )


def test_manager_holds_a_review_and_the_rep_marks_the_action_done(
    page, live_server, manager, rep, team, rep_pipeline, console_errors
):
    # Prepare the review of the team.
    log_in(page, live_server, "manager", f"/reviews/prepare/?team={team.pk}")
    expect(page).to_have_url(f"{live_server.url}/reviews/prepare/?team={team.pk}")
    expect(page.get_by_role("heading", name=f"Review of {team.name}", level=1)).to_be_visible()
    expect(page.locator("table.waterfall-table").first).to_be_visible()
    # The scripts are deferred: wait for Chart.js to have drawn the first waterfall.
    page.wait_for_function(
        "() => window.Chart !== undefined"
        " && Chart.getChart(document.querySelector('canvas.waterfall-chart')) !== undefined"
    )
    expect(page.get_by_role("link", name="Fleet deal").first).to_be_visible()
    assert console_errors == []

    # Start the meeting.
    page.get_by_role("button", name="Start the meeting").click()
    # The meeting's page first: the meeting is written once the browser is there.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/reviews/\d+/$"))
    meeting = ReviewMeeting.objects.get()
    expect(page).to_have_url(f"{live_server.url}/reviews/{meeting.pk}/")
    assert (meeting.team, meeting.rep, meeting.manager) == (team, None, manager)

    # Meeting mode: one section at a time, stepped with the keyboard.
    sections = page.locator("#review-sections [data-section]")
    visible = page.locator("#review-sections [data-section]:visible")
    page.wait_for_load_state()  # counted once the whole page is parsed, not part of it
    total = sections.count()
    assert total > 2
    expect(visible).to_have_count(total)
    toggle = page.locator("#present-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(visible).to_have_count(1)
    first = visible.locator("h2").inner_text()
    page.keyboard.press("ArrowRight")
    expect(visible).to_have_count(1)
    expect(visible.locator("h2")).not_to_have_text(first)
    second = visible.locator("h2").inner_text()
    assert second != first
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(visible).to_have_count(total)

    # Notes, saved through htmx.
    page.locator("textarea[name=notes]").fill(NOTES)
    page.get_by_role("button", name="Save the notes").click()
    expect(page.locator("#notes")).to_contain_text("Notes saved")
    meeting.refresh_from_db()
    assert (meeting.notes, meeting.version) == (NOTES, 2)

    # An action for the rep, due on the default date.
    form = page.locator("#action-form")
    due = form.locator("input[name=due_date]").input_value()
    assert due != ""
    form.locator("select[name=owner]").select_option(str(rep.pk))
    form.locator("input[name=text]").fill(ACTION)
    form.get_by_role("button", name="Add the action").click()
    expect(page.locator("#actions")).to_contain_text(ACTION)
    expect(page.locator("#actions")).to_contain_text(str(rep))
    action = ActionItem.objects.get()
    assert (action.meeting, action.owner, action.text, action.due_date.isoformat()) == (
        meeting,
        rep,
        ACTION,
        due,
    )
    assert action.done_at is None

    # The meeting list has the notes and the action.
    page.goto(f"{live_server.url}/reviews/")
    listed = page.locator("article.meeting")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(NOTES)
    expect(listed).to_contain_text(ACTION)
    assert console_errors == []

    # The rep logs in: the home page has the action, and they mark it done.
    page.locator("nav .user-menu summary").click()  # the user menu (not the phone's Menu)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    log_in(page, live_server, "rep", "/")
    expect(page).to_have_url(f"{live_server.url}/")
    my_actions = page.get_by_role("region", name="Your actions from reviews")
    expect(my_actions).to_be_visible()
    item = my_actions.get_by_role("listitem").filter(has_text=ACTION)
    expect(item).to_be_visible()
    item.get_by_role("button", name="Mark done").click()
    # Back on My work, with no open action left.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("region", name="Your actions from reviews")).to_have_count(0)
    action.refresh_from_db()
    assert action.done_at is not None
    assert action.done_by == rep

    page.goto(f"{live_server.url}/reviews/")
    done = page.locator("article.meeting li").filter(has_text=ACTION)
    expect(done.locator(".badge")).to_have_text("done")
    expect(page.get_by_role("button", name="Mark done")).to_have_count(0)
    assert console_errors == []
