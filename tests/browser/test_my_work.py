"""A rep's morning in a real browser, on a desktop and on a phone: My work says what needs
doing, a next step is set from the project page without leaving it, and `/` searches."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.projects.models import NextStepChange
from tests.browser.pages import log_in

WIDTHS = {"desktop": 1440, "phone": 390}


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_a_rep_sees_what_is_overdue_sets_the_next_step_and_searches(
    page, live_server, rep, console_errors, width
):
    page.set_viewport_size({"width": width, "height": 900})
    today = timezone.localdate()
    account = AccountFactory(owner=rep, name="Fjordbåd Logistik")
    late = ProjectFactory(
        title="Harbour cranes",
        account=account,
        next_step="Send the offer",
        next_step_date=today - timedelta(days=2),
    )
    ProjectFactory(title="Quay lights", account=AccountFactory(owner=rep), next_step="")

    log_in(page, live_server, "rep")
    expect(page).to_have_url(f"{live_server.url}/")

    overdue = page.locator("article.work-overdue")
    expect(overdue).to_contain_text("Harbour cranes")
    expect(overdue.locator(".count")).to_have_text("1")
    expect(page.locator("article.work-missing")).to_contain_text("Quay lights")
    page.screenshot(path=f"test-results/my-work-{width}.png", full_page=True)

    # The overdue project: its next step is set in place, without leaving the page.
    overdue.get_by_role("link", name="Harbour cranes").click()
    expect(page).to_have_url(re.compile(rf"/projects/{late.pk}/$"))
    page.wait_for_load_state()  # htmx has run: Save sends through it, not as a page's form
    block = page.locator("#next-step")
    expect(block).to_contain_text("overdue since")
    block.get_by_label("What happens next").fill("Call the harbour master")
    block.get_by_label("By").fill(f"{today + timedelta(days=1):%Y-%m-%d}")
    block.get_by_role("button", name="Save next step").click()
    expect(page.locator("#next-step .next-step-now")).to_contain_text("Call the harbour master")
    expect(page.locator("#next-step")).not_to_contain_text("overdue")
    expect(page).to_have_url(re.compile(rf"/projects/{late.pk}/$"))  # no page load
    assert NextStepChange.objects.filter(project=late).latest("changed_at").next_step == (
        "Call the harbour master"
    )
    # A day in the past is refused in words, and the text stays.
    block = page.locator("#next-step")
    block.get_by_label("What happens next").fill("Back in time")
    block.get_by_label("By").fill("2020-01-01")
    block.get_by_role("button", name="Save next step").click()
    expect(page.locator("#next-step")).to_contain_text("Choose today or a later day")
    expect(page.locator("#next-step").get_by_label("What happens next")).to_have_value(
        "Back in time"
    )

    # "/" searches from anywhere; accents aside.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#nav-search")).to_be_focused()
    page.keyboard.type("fjordbad")
    results = page.locator("#nav-search-results")
    expect(results.get_by_role("link", name="Fjordbåd Logistik")).to_be_visible()
    page.screenshot(path=f"test-results/search-{width}.png")
    results.get_by_role("link", name="Fjordbåd Logistik").click()
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    assert console_errors == []
