"""The forecast page in a real browser: the chart draws, and a manager sets a team target."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.factories import AccountFactory
from apps.forecasting.models import Target
from apps.forecasting.periods import period_containing
from apps.pipeline.factories import ProjectFactory, stage_named
from tests.browser.pages import log_in


@pytest.fixture
def team_pipeline(team, rep, teammate):
    """Two open projects of the manager's team closing today: weighted (effective) 60,000 +
    20,000 = 80,000 this month. No history, so the historical % equals the default."""
    today = timezone.localdate()
    ProjectFactory(
        title="Fleet deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Decision"),  # 60 %
        value=Decimal("100000.00"),
        expected_close_date=today,
    )
    ProjectFactory(
        title="Depot deal",
        account=AccountFactory(owner=teammate),
        stage=stage_named("Solution design"),  # 40 %
        value=Decimal("50000.00"),
        expected_close_date=today,
    )


@pytest.fixture
def forecast(page, live_server, manager, team_pipeline, console_errors):
    """Logged in as the manager through the login form, on /forecast/."""
    log_in(page, live_server, "manager", "/forecast/")
    expect(page).to_have_url(f"{live_server.url}/forecast/")
    expect(page.get_by_role("heading", name="Forecast", exact=True)).to_be_visible()


def _period_row(page, label):
    by_period = page.get_by_role("region", name="By period")
    return by_period.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=label, exact=True)
    )


def test_forecast_chart_draws_without_console_errors(page, forecast, console_errors):
    # The scripts are deferred: wait for Chart.js to have drawn on the canvas.
    page.wait_for_function(
        "() => window.Chart !== undefined"
        " && Chart.getChart(document.getElementById('forecast-chart')) !== undefined"
    )
    chart = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('forecast-chart'));
            return {
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((dataset) => dataset.label),
                width: chart.width,
                height: chart.height,
            };
        }"""
    )
    this_month = period_containing("month", timezone.localdate()).label
    assert chart["labels"][0] == this_month
    assert len(chart["labels"]) == 6
    assert chart["datasets"] == [
        "Weighted: stage default",
        "Weighted: effective",
        "Weighted: historical",
        "Won",
        "Target",
    ]
    assert chart["width"] > 0 and chart["height"] > 0
    expect(page.locator("#forecast-chart")).to_be_visible()
    # The table under the chart has the same figures.
    cells = _period_row(page, this_month).get_by_role("cell")
    expect(cells.nth(0)).to_have_text("2")
    expect(cells.nth(1)).to_have_text("150,000")
    expect(cells.nth(3)).to_have_text("80,000")
    assert console_errors == []


def test_manager_sets_a_team_target_and_sees_it_in_the_forecast(
    page, live_server, forecast, manager, team, console_errors
):
    today = timezone.localdate()
    month = period_containing("month", today)
    row = _period_row(page, month.label)
    cells = row.get_by_role("cell")
    expect(cells.nth(7)).to_have_text("—")  # the target, with its coverage verdict

    form = page.get_by_role("region", name="Set a target")
    form.get_by_label("For").select_option(label="North")
    form.get_by_label("Period").select_option(label="Month")
    form.get_by_label("Month or quarter of").fill(today.isoformat())
    form.get_by_label("Amount").fill("144000")
    form.get_by_role("button", name="Save target").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Target for North set to 144,000 for the month from {month.start:%d %b %Y}."
    )
    expect(page).to_have_url(f"{live_server.url}/forecast/")
    # 80,000 weighted against a gap of 144,000: 0.56×, so it needs 1.8× more.
    expect(cells.nth(7)).to_have_text(
        "144,000 0 % won\nNeeds 1.8× more weighted pipeline.", use_inner_text=True
    )
    # The chart's target line has the new target in this month only.
    page.wait_for_function(
        "() => window.Chart !== undefined"
        " && Chart.getChart(document.getElementById('forecast-chart')) !== undefined"
    )
    targets = page.evaluate(
        "() => Chart.getChart(document.getElementById('forecast-chart')).data.datasets[4].data"
    )
    assert targets == [144000, None, None, None, None, None]
    target = Target.objects.get()
    assert (target.team, target.rep, target.kind, target.starts, target.amount, target.set_by) == (
        team,
        None,
        "month",
        month.start,
        Decimal("144000.00"),
        manager,
    )
    assert console_errors == []


def test_analytics_charts_draw_without_console_errors(page, forecast, console_errors):
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    for chart in ("funnel-chart", "reliability-chart", "accuracy-chart"):
        page.wait_for_function(
            f"() => window.Chart !== undefined"
            f" && Chart.getChart(document.getElementById('{chart}')) !== undefined"
        )
    funnel = page.evaluate(
        "() => Chart.getChart(document.getElementById('funnel-chart')).data.datasets[0].data"
    )
    # Both projects were opened this year and are still open in their stages.
    assert funnel[:4] == [2, 2, 2, 2]
    expect(
        page.get_by_role("row", name="Everyone shown 0 0 0 0 too few stops to say")
    ).to_be_visible()
    assert console_errors == []
