"""A rep's day at 1280 px and 390 px (issue 21, section 5): what a rep met on the board, the
project page, the search, the account and contact pages, and on a phone."""

import re

from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.projects.factories import ProjectFactory, stage_named
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
