"""Figures kept of the days over, read on one connection while another writes a change to
them: what was read before the change commits is set aside once it has."""

import threading

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction

from apps.forecasting.tests.test_analytics import _at, _year_to_june, history  # noqa: F401
from apps.pipeline import ledger, services
from apps.projects.models import CustomerProject

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data"),
]


def test_figures_read_while_a_reopening_commits_are_set_aside_once_it_has(
    history,  # noqa: F811
    manager,
    rep,
):
    stopped = CustomerProject.objects.get(owner=rep, status="stopped")  # P2, stopped in Feb
    reopened, read = threading.Event(), threading.Event()

    def reopen():
        try:
            with transaction.atomic():
                services.reopen_project(project=stopped, user=rep, seen_version=stopped.version)
                reopened.set()
                assert read.wait(timeout=10)
        finally:
            connection.close()

    with time_machine.travel(_at(6, 1), tick=False):
        writer = threading.Thread(target=reopen)
        writer.start()
        assert reopened.wait(timeout=10)
        during = _year_to_june(user=manager)  # kept: February with P2 still stopped
        read.set()
        writer.join(timeout=10)
    assert (during.lost, _year_to_june(user=manager).lost) == (2, 1)


def test_a_change_committed_between_reading_the_revisions_and_the_figures_is_not_kept_stale(
    history,  # noqa: F811
    manager,
    rep,
    monkeypatch,
):
    """The revisions are read before the figures: a change that commits just before the
    revisions are read is in the figures read after them (read the other way round, figures
    from before the change would be kept under the revisions that count it)."""
    stopped = CustomerProject.objects.get(owner=rep, status="stopped")  # P2, stopped in Feb
    asked, committed = threading.Event(), threading.Event()
    read_revisions = ledger.past_revisions

    def past_revisions(*args, **kwargs):
        if not asked.is_set():
            asked.set()
            assert committed.wait(timeout=10)
        return read_revisions(*args, **kwargs)

    def reopen():
        try:
            assert asked.wait(timeout=10)
            services.reopen_project(project=stopped, user=rep, seen_version=stopped.version)
            committed.set()
        finally:
            connection.close()

    _year_to_june(user=manager)  # February kept, P2 stopped in it
    monkeypatch.setattr(ledger, "past_revisions", past_revisions)
    cache.clear()  # the figures of this view are read again, February's among them
    with time_machine.travel(_at(6, 1), tick=False):
        writer = threading.Thread(target=reopen)
        writer.start()
        read = _year_to_june(user=manager)
        writer.join(timeout=10)
    assert (read.lost, _year_to_june(user=manager).lost) == (1, 1)
