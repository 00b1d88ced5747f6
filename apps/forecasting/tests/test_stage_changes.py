"""An admin's change to the stages rewrites no past figure (DOMAIN.md, "Reached a stage"):
stages are compared by identity, placed in today's order, never by the order recorded at the
time. Each test builds a history, reads every figure that rests on the stages' order, lets an
admin insert, reorder, rename or re-weight stages, and reads them again."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from apps.forecasting.selectors.analytics import analytics
from apps.forecasting.selectors.forecast import forecast
from apps.forecasting.selectors.win_rates import stage_win_rates
from apps.pipeline import services
from apps.pipeline.factories import noon, opened, stage_named
from apps.pipeline.models import Stage, StopReason
from apps.projects.models import CustomerProject
from apps.reviews.selectors import Scope, review


def _walk(owner, stages, end, when, reason):
    """A project opened in stages[0] on `when`, moved a day apart through the rest, then
    won or stopped (by us, `reason`) the next day, or left open (`end` None)."""
    with time_machine.travel(when, tick=False) as traveller:
        project = opened(owner, stages[0], when, date(2026, 6, 30))
        for name in [*stages[1:], end]:
            traveller.shift(86_400)
            project.refresh_from_db()
            arguments = {"project": project, "user": owner, "seen_version": project.version}
            if name == "won":
                services.win_project(**arguments)
            elif name == "stopped":
                services.stop_project(**arguments, ended_by="us", reason=reason)
            elif name is not None:
                services.move_project(**arguments, to_stage=stage_named(name))
    return project


@pytest.fixture
def history(rep, teammate, team):
    """In March, on the acquisition pipeline: six wins (three through Decision and
    Negotiation, three from Qualification straight to Agreement) and ten stops, five early
    (in Qualification), one midway (Solution design), two in Decision and two in Negotiation:
    40 % late, an expensive pipeline. One project is still open in Negotiation."""
    reason = StopReason.objects.get(name="No budget")
    day = iter(range(1, 29))
    for owner in (rep, teammate, rep):
        _walk(owner, ["Raw lead", "Qualification", "Decision", "Negotiation"], "won",
              noon(3, next(day)), reason)  # fmt: skip
        _walk(owner, ["Qualification"], "won", noon(3, next(day)), reason)
    for index in range(5):
        owner = rep if index % 2 else teammate
        _walk(owner, ["Raw lead", "Qualification"], "stopped", noon(3, next(day)), reason)
    _walk(rep, ["Qualification", "Solution design"], "stopped", noon(3, next(day)), reason)
    for owner in (rep, teammate):
        _walk(owner, ["Qualification", "Decision"], "stopped", noon(3, next(day)), reason)
        _walk(owner, ["Qualification", "Decision", "Negotiation"], "stopped",
              noon(3, next(day)), reason)  # fmt: skip
    _walk(rep, ["Qualification", "Decision", "Negotiation"], None, noon(3, next(day)), reason)


def _figures(manager, team, pipeline):
    """Every figure that rests on the stages' order, by stage name, seen on 1 May."""
    with time_machine.travel(noon(5, 1), tick=False):
        result = analytics(manager, pipeline=pipeline, start=date(2026, 3, 1), end=date(2026, 5, 1))
        rates = stage_win_rates()
        notes = review(Scope(team=team), since=noon(2, 28), until=noon(4, 30))
    acquisition = [rate for rate in rates.values() if rate.stage.pipeline_id == pipeline.pk]
    stopped = next(section for section in notes.sections if section.key == "stopped")
    return {
        "funnel": {figure.stage.name: figure.reached for figure in result.stages},
        "stops": {figure.stage.name: figure.stops for figure in result.stages if figure.stops},
        "rates": {rate.stage.name: (rate.reached, rate.won, rate.raw) for rate in acquisition},
        "blended": {rate.stage.name: rate.blended for rate in acquisition},
        "structures": {
            structure.label: (
                structure.stops,
                structure.early,
                structure.late,
                structure.late_project_days,
                structure.verdict,
            )
            for structure in result.structures
        },
        "review": sorted(entry.note for entry in stopped.entries),
    }


def _insert_before(name, *, new, default, admin, pipeline):
    """What the admin does to add a stage `new` before `name`: move it and every later
    stage one place on (the last first, for the unique order), then add the new one."""
    with transaction.atomic():
        place = stage_named(name).order
        later = list(pipeline.stages.filter(order__gte=place).order_by("-order"))
        for stage in later:
            stage.order += 1
            stage.save(update_fields=["order"])
        Stage.objects.create(pipeline=pipeline, name=new, order=place, default_probability=default)
        services.record_stage_changes(stages=later, user=admin)


def test_the_history_is_expensive_before_any_change(history, manager, team, acquisition):
    figures = _figures(manager, team, acquisition)
    # Late: two stops in Decision after 2 days, two in Negotiation after 3.
    assert figures["structures"]["Everyone shown"] == (10, 5, 4, 10, "expensive")
    assert figures["rates"]["Agreement"] == (6, 6, 100)
    assert figures["rates"]["Decision"] == (10, 6, 60)
    # The three wins from Qualification skipped Negotiation: they went past it.
    assert figures["rates"]["Negotiation"] == (8, 6, 75)


def test_a_stage_inserted_before_decision_changes_no_past_figure(
    history, manager, team, pipeline_admin, acquisition
):
    before = _figures(manager, team, acquisition)
    with time_machine.travel(noon(4, 15), tick=False):
        _insert_before(
            "Decision", new="Proposal", default=50, admin=pipeline_admin, pipeline=acquisition
        )
    after = _figures(manager, team, acquisition)

    existing = {name: count for name, count in after["funnel"].items() if name != "Proposal"}
    assert existing == before["funnel"]
    assert {name: rate for name, rate in after["rates"].items() if name != "Proposal"} == (
        before["rates"]
    )
    assert {name: rate for name, rate in after["blended"].items() if name != "Proposal"} == (
        before["blended"]
    )
    assert after["stops"] == before["stops"]
    assert after["structures"] == before["structures"]
    assert after["review"] == before["review"]
    # The new stage counts as reached by the projects that went past its place (as a skip):
    # those that reached Decision.
    assert after["funnel"]["Proposal"] == after["funnel"]["Decision"]
    assert after["rates"]["Proposal"] == after["rates"]["Decision"]
    assert list(after["funnel"]) == [
        "Raw lead",
        "Marketing",
        "Qualification",
        "Solution design",
        "Proposal",
        "Decision",
        "Negotiation",
        "Agreement",
    ]


def test_two_stages_reordered_are_placed_in_todays_order(
    history, manager, team, pipeline_admin, acquisition
):
    before = _figures(manager, team, acquisition)
    # Qualification and Solution design change places.
    with time_machine.travel(noon(4, 15), tick=False), transaction.atomic():
        qualification, design = stage_named("Qualification"), stage_named("Solution design")
        orders = qualification.order, design.order
        qualification.order = 99
        qualification.save(update_fields=["order"])
        design.order = orders[0]
        design.save(update_fields=["order"])
        qualification.order = orders[1]
        qualification.save(update_fields=["order"])
        services.record_stage_changes(stages=[qualification, design], user=pipeline_admin)
    after = _figures(manager, team, acquisition)

    # Every project was in Qualification, which is now after Solution design: all reached
    # both; the order recorded at the time (Qualification 3) would have said none of the
    # stops in Qualification reached it.
    assert after["funnel"]["Qualification"] == before["funnel"]["Qualification"] == 17
    assert after["funnel"]["Solution design"] == 17
    assert before["funnel"]["Solution design"] == 12
    assert after["rates"]["Qualification"] == before["rates"]["Qualification"]
    unchanged = {"Raw lead", "Marketing", "Decision", "Negotiation", "Agreement"}
    for name in unchanged:
        assert after["rates"][name] == before["rates"][name]
        assert after["funnel"][name] == before["funnel"][name]
    assert after["stops"] == before["stops"]
    # The stop in Solution design is now before the first stage that requires
    # qualification: early, as where it stands today says.
    assert before["structures"]["Everyone shown"] == (10, 5, 4, 10, "expensive")
    assert after["structures"]["Everyone shown"] == (10, 6, 4, 10, "expensive")
    assert after["review"] == sorted(
        note.replace("Solution design, midway", "Solution design, early")
        for note in before["review"]
    )


@pytest.mark.parametrize("change", ["rename", "reweight"])
def test_a_renamed_or_reweighted_stage_keeps_every_count(
    history, manager, team, pipeline_admin, acquisition, change
):
    before = _figures(manager, team, acquisition)
    with time_machine.travel(noon(4, 15), tick=False):
        decision = stage_named("Decision")
        if change == "rename":
            decision.name = "Soft buy"
        else:
            decision.default_probability = 70
        decision.save()
        services.record_stage_changes(stages=[decision], user=pipeline_admin)
    after = _figures(manager, team, acquisition)

    def renamed(figures):
        return {
            ("Decision" if name == "Soft buy" else name): value for name, value in figures.items()
        }

    for key in ("funnel", "stops", "rates"):
        assert renamed(after[key]) == before[key]
    assert after["structures"] == before["structures"]
    blended = renamed(after["blended"])
    if change == "reweight":
        # The blend leans toward today's default: (6 + 10 × 0.7) / (10 + 10).
        assert blended.pop("Decision") == 65
        before["blended"].pop("Decision")
        assert after["review"] == before["review"]
    else:
        notes = sorted(note.replace("Soft buy", "Decision") for note in after["review"])
        assert notes == before["review"]
    assert blended == before["blended"]


def test_the_historical_weighted_value_is_exact_to_the_cent(history, manager, acquisition):
    # The open project, in Negotiation: its blend is (6 + 10 × 0.8) / (8 + 10) = 7/9, so a
    # value of 1,234,567 weighs 960,218.777…: 960,218.78. The rate rounded to four places
    # first (77.7778 %) made it 960,219.05.
    project = CustomerProject.objects.get(status="open")
    project.value = Decimal(1_234_567)
    project.save(update_fields=["value"])
    with time_machine.travel(noon(5, 1), tick=False):
        result = forecast(manager, first=date(2026, 6, 1), count=1, pipeline=acquisition)
    assert result.periods[-1].total.weighted_historical == Decimal("960218.78")
