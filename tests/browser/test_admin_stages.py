"""The pipeline's admin page in a real browser: "Use the raw N % as the default" fills the
stage's default % in the form without losing what the admin typed elsewhere, and the stages'
table fits a 1280 px window."""

import pytest
from playwright.sync_api import expect

from apps.forecasting.tests.test_admin import _closed_history
from apps.pipeline.factories import stage_named
from apps.pipeline.models import Pipeline
from tests.browser.pages import log_in


@pytest.fixture
def change_page(page, live_server, pipeline_admin, rep, console_errors):
    """Decision: 12 projects reached it and closed, 9 won (raw 75 %, the default 60 %). The
    admin on the acquisition pipeline's change page, in a 1280 x 800 window."""
    _closed_history(rep, won=9, stopped=3)
    pipeline = Pipeline.objects.get(kind="acquisition", is_default=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "pipeline_admin", f"/admin/pipeline/pipeline/{pipeline.pk}/change/")
    expect(page.get_by_role("heading", name="Stages")).to_be_visible()
    return pipeline


def _default_field(page, stage):
    row = page.locator("tr.form-row").filter(has=page.locator(f'input[value="{stage}"]'))
    return row.locator("input[name$='-default_probability']")


def test_use_the_raw_rate_fills_the_field_and_keeps_unsaved_edits(
    page, live_server, change_page, console_errors
):
    url = page.url
    page.get_by_label("Name:").fill("Acquisition, renamed")
    _default_field(page, "Marketing").fill("12")

    page.get_by_role("button", name="Use the raw rate, 75 %, as the default of Decision").click()

    expect(_default_field(page, "Decision")).to_have_value("75")
    expect(page.get_by_text("Filled in: save to keep it.")).to_be_visible()
    # Nothing was posted: the page, and every edit on it, is as the admin left it.
    assert page.url == url
    expect(page.get_by_label("Name:")).to_have_value("Acquisition, renamed")
    expect(_default_field(page, "Marketing")).to_have_value("12")
    assert stage_named("Decision").default_probability == 60
    # The admin's pages name no icon, so Chromium's own /favicon.ico is a 404 (a request
    # Playwright does not show); the page's scripts and styles are checked by what they do.
    assert [error for error in console_errors if "Failed to load resource" not in error] == []

    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    change_page.refresh_from_db()
    assert change_page.name == "Acquisition, renamed"
    assert stage_named("Decision").default_probability == 75
    assert stage_named("Marketing").default_probability == 12


def test_the_stages_table_fits_a_1280_px_window(page, change_page):
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    table = page.locator(".inline-group table").bounding_box()
    assert table["x"] + table["width"] <= 1280
