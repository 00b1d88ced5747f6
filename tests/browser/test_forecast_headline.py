"""The forecast page in a real browser: the chart's Won line stops at the current period, and
a manager chooses the headline source the target verdicts weigh by, kept after a reload."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.forecasting.models import Target
from apps.forecasting.periods import period_containing
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from tests.browser.pages import log_in

CHART = "Chart.getChart(document.getElementById('forecast-chart'))"


@pytest.fixture
def forecast(page, live_server, manager, team, rep, teammate, console_errors):
    """This month: the rep's 100,000 in Decision (60 %) and the teammate's 50,000 with their
    own 20 % (stage default 40 %): weighted 80,000 by the stage default, 70,000 by the
    effective %; 30,000 won; a team target of 150,000. Logged in as the manager."""
    today = timezone.localdate()
    ProjectFactory(
        account=AccountFactory(owner=rep),
        stage=stage_named("Decision"),
        value=Decimal(100_000),
        expected_close_date=today,
    )
    ProjectFactory(
        account=AccountFactory(owner=teammate),
        stage=stage_named("Solution design"),
        value=Decimal(50_000),
        expected_close_date=today,
        individual_probability=20,
    )
    won = ProjectFactory(
        account=AccountFactory(owner=rep), stage=stage_named("Negotiation"), value=30_000
    )
    services.win_project(project=won, user=rep, seen_version=won.version)
    Target.objects.create(
        team=team,
        kind="month",
        starts=period_containing("month", today).start,
        amount=150_000,
        set_by=manager,
    )
    log_in(page, live_server, "manager", "/forecast/")
    page.wait_for_function(f"() => window.Chart !== undefined && {CHART} !== undefined")


def _target_cell(page):
    by_period = page.get_by_role("region", name="By period")
    label = period_containing("month", timezone.localdate()).label
    row = by_period.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=label, exact=True)
    )
    return row.get_by_role("cell").nth(7)


def test_the_won_line_stops_at_the_current_period(page, forecast, console_errors):
    won = page.evaluate(f"() => {CHART}.data.datasets.find((d) => d.label === 'Won').data")
    # This month's 30,000, then nothing for the five months to come: no point, no line to 0.
    assert won == [30000, None, None, None, None, None]
    assert console_errors == []


def test_the_manager_chooses_the_headline_source_and_it_stays(
    page, live_server, forecast, manager, console_errors
):
    # By the effective %: 70,000 against a gap of 120,000 (0.58×): needs 1.7× more.
    expect(_target_cell(page)).to_contain_text("Needs 1.7× more weighted pipeline.")
    heading = page.get_by_role("region", name="By period").get_by_role(
        "columnheader", name="Target"
    )
    expect(heading).to_contain_text("verdict by the effective %")

    source = page.get_by_label("Verdicts against the target weigh the pipeline by")
    source.select_option(label="stage default %")
    page.get_by_role("button", name="Use", exact=True).click()

    # By the stage default: 80,000 against 120,000 (0.67×): needs 1.5× more.
    expect(_target_cell(page)).to_contain_text("Needs 1.5× more weighted pipeline.")
    expect(heading).to_contain_text("verdict by the stage default %")
    page.reload()
    expect(page.get_by_label("Verdicts against the target weigh the pipeline by")).to_have_value(
        "default"
    )
    expect(page.get_by_role("columnheader", name="stage default (headline)")).to_be_visible()
    manager.refresh_from_db()
    assert manager.forecast_source == "default"
    assert console_errors == []
