from datetime import timedelta
from types import SimpleNamespace

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.forecasting import services
from apps.forecasting.forms import AnalyticsForm, ForecastForm, SourceForm, TargetForm
from apps.forecasting.selectors import accuracy, win_rates
from apps.forecasting.selectors import analytics as figures
from apps.forecasting.selectors import forecast as forecasting
from apps.pipeline.models import Pipeline
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import problems as form_problems
from pipeline_crm.http import safe_next
from pipeline_crm.listing import csv_response


def _forecast(request):
    form = ForecastForm(request.GET or None, user=request.user)
    return form, forecasting.forecast(
        request.user, **form.choices(), source=request.user.forecast_source
    )


@require_GET
def forecast(request):
    form, result = _forecast(request)
    target_form = TargetForm(user=request.user, initial={"kind": form.choices()["kind"]})
    today = timezone.localdate()
    chart = {
        "labels": [column.label for column in result.periods],
        "default": [float(column.total.weighted_default) for column in result.periods],
        "effective": [float(column.total.weighted_effective) for column in result.periods],
        "historical": [float(column.total.weighted_historical) for column in result.periods],
        # Won so far: nothing is won in a period to come (null, no point at 0), nor overdue.
        "won": [
            float(column.won) if column.period and column.period.start <= today else None
            for column in result.periods
        ],
        "target": [
            float(column.target) if column.target is not None else None for column in result.periods
        ],
    }
    rates = sorted(
        result.rates.values(), key=lambda rate: (rate.stage.pipeline_id, rate.stage.order)
    )
    return render(
        request,
        "forecasting/forecast.html",
        {
            "form": form,
            "forecast": result,
            "chart": chart,
            "rates": [rate for rate in rates if not rate.stage.is_won],
            "target_form": target_form if target_form.teams or target_form.reps else None,
            "rules": SimpleNamespace(
                NORMAL_FROM=forecasting.NORMAL_FROM,
                WIN_RATE_MONTHS=win_rates.WIN_RATE_MONTHS,
                BLEND_K=win_rates.BLEND_K,
            ),
            "source_form": SourceForm(initial={"source": request.user.forecast_source}),
            "source": request.user.get_forecast_source_display(),
        },
    )


def _back_to_forecast(request):
    """Back to the page the form was on (its `next`), if that is a forecast page."""
    forecast_url = reverse("forecasting:forecast")
    return redirect(
        safe_next(request, request.POST.get("next", ""), within=forecast_url) or forecast_url
    )


@require_GET
def forecast_summary(request):
    """The next three months in a few lines, for the home page of managers and admins."""
    result = forecasting.forecast(request.user, count=3, source=request.user.forecast_source)
    return render(
        request,
        "forecasting/summary.html",
        {"forecast": result, "source": request.user.get_forecast_source_display()},
    )


@require_POST
def forecast_source(request):
    """Choose the headline source of one's forecast: a setting of the user's, kept with them
    (as the board's compact cards are), so it follows them to every browser."""
    form = SourceForm(request.POST)
    if form.is_valid():
        request.user.forecast_source = form.cleaned_data["source"]
        request.user.save(update_fields=["forecast_source"])
    else:
        messages.error(request, f"The headline source was not changed: {form_problems(form)}")
    return _back_to_forecast(request)


@require_GET
def forecast_export(request):
    """The forecast table as CSV: a line per period and group, and per period total."""
    _, result = _forecast(request)
    header = ["id", "period", "group", "projects", "value", "weighted_stage_default"]
    header += ["weighted_effective", "weighted_historical", "won", "target"]

    def rows():
        for column in result.periods:
            cells = [("All", column.total), *column.groups]
            # A line's id: its period's first day (or "overdue") and its group, the same in
            # every export of that period, for a spreadsheet's lookups.
            start = column.period.start.isoformat() if column.period else "overdue"
            for name, cell in cells:
                # The period's target on its "All" line, a rep's own on the rep's line.
                target = column.target if cell is column.total else cell.target
                yield [
                    f"{start}/{name}",
                    column.label,
                    name,
                    cell.count,
                    cell.value,
                    cell.weighted_default,
                    cell.weighted_effective,
                    cell.weighted_historical,
                    column.won if name == "All" else "",
                    "" if target is None else target,
                ]

    return csv_response("forecast", header, rows())


@require_GET
def analytics(request):
    """How the pipeline did and how real its percentages were."""
    form = AnalyticsForm(request.GET or None, user=request.user)
    choices = form.choices()
    if not Pipeline.objects.exists():
        return render(request, "forecasting/analytics.html", {"form": form, "result": None})
    result = figures.analytics(request.user, **choices)
    charts = {
        "funnel": {
            "labels": [
                figure.stage.name if result.pipeline else f"{figure.stage.pipeline}: {figure.stage}"
                for figure in result.stages
            ],
            "reached": [figure.reached for figure in result.stages],
            "stops": [figure.stops for figure in result.stages],
        },
        "reliability": {
            "labels": [bucket["label"] for bucket in result.reliability],
            "won": [
                float(bucket["won_share"]) if bucket["won_share"] is not None else None
                for bucket in result.reliability
            ],
            "ideal": [10 * index + 5 for index in range(10)],
        },
        "accuracy": {
            "labels": [row["month"].label for row in result.accuracy],
            "effective": [float(row["effective"]) for row in result.accuracy],
            "default": [float(row["default"]) for row in result.accuracy],
            "won": [float(row["won"]) for row in result.accuracy],
        },
    }
    return render(
        request,
        "forecasting/analytics.html",
        {
            "form": form,
            "result": result,
            "charts": charts,
            "last_day": choices["end"] - timedelta(days=1),
            "rules": SimpleNamespace(
                FEW_STOPS=figures.FEW_STOPS,
                EARLY_STOP_SHARE=figures.EARLY_STOP_SHARE,
                LATE_STOP_SHARE_IDEAL=figures.LATE_STOP_SHARE_IDEAL,
                LATE_STOP_SHARE_EXPENSIVE=figures.LATE_STOP_SHARE_EXPENSIVE,
                CALIBRATION_FROM=figures.CALIBRATION_FROM,
                ACCURACY_MONTHS=accuracy.ACCURACY_MONTHS,
            ),
        },
    )


@require_POST
def target_set(request):
    form = TargetForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            target = services.set_target(
                user=request.user,
                kind=form.cleaned_data["kind"],
                starts=form.cleaned_data["starts"],
                amount=form.cleaned_data["amount"],
                **form.target_of(),
            )
        except DomainError as error:
            messages.error(request, error)
        else:
            messages.success(
                request,
                f"Target for {target.rep or target.team} set to "
                f"{target.amount:,.0f} for the {target.get_kind_display().lower()} "
                f"from {target.starts:%d %b %Y}.",
            )
    else:
        messages.error(request, f"No target was set: {form_problems(form)}")
    return _back_to_forecast(request)
