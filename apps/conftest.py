"""Fixtures the tests of more than one app share."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import Pipeline, StopReason


@pytest.fixture
def acquisition(db):
    """The default acquisition pipeline that migration pipeline.0003 seeds."""
    return Pipeline.objects.get(kind="acquisition", is_default=True)


@pytest.fixture
def reason(db):
    """A seeded stop reason, for a stop that asks for one."""
    return StopReason.objects.get(name="No budget")


@pytest.fixture
def deal(rep, team):
    """The won-day tests' project (pipeline, forecasting, reviews): opened on 2 November 2026
    in Negotiation, worth 40,000, expected to close on 31 March 2027."""
    with time_machine.travel(datetime(2026, 11, 2, 10, tzinfo=UTC), tick=False):
        return ProjectFactory(
            title="Fjord deal",
            account=AccountFactory(owner=rep),
            stage=stage_named("Negotiation"),
            value=Decimal(40_000),
            expected_close_date=date(2027, 3, 31),
        )


@pytest.fixture
def today():
    """The won-day tests' today, frozen: 7 December 2026, 10:00 UTC."""
    today = datetime(2026, 12, 7, 10, tzinfo=UTC)
    with time_machine.travel(today, tick=False):
        yield today
