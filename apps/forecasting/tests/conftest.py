"""Fixtures shared by the forecasting tests."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named


@pytest.fixture
def projects(rep, teammate, other_rep, team, other_team):
    """Open projects closing this month: the rep's 10,000 in Decision (60 %), the teammate's
    20,000 (own 50 %), another team's 40,000. Weighted for the manager: by the stage default
    18,000, by the effective % 16,000, historically (no history: the default) 18,000."""
    today = timezone.localdate()

    def project(owner, value, individual=None):
        return ProjectFactory(
            account=AccountFactory(owner=owner),
            stage=stage_named("Decision"),
            value=Decimal(value),
            expected_close_date=today,
            individual_probability=individual,
        )

    return [project(rep, 10_000), project(teammate, 20_000, 50), project(other_rep, 40_000)]
