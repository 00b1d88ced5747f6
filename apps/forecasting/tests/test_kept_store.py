"""The store of kept figures (apps/forecasting/kept.py): what is kept is read back until it
expires, expired figures are let go, and two processes keeping the same figures at once
both succeed."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from apps.forecasting import kept
from apps.forecasting.models import KeptFigures


@pytest.mark.django_db
def test_figures_are_read_back_by_key_until_they_expire():
    kept.set_many({"a": {"x": 1}, "b": [2, 3]}, timeout=60)
    kept.set("c", None, timeout=60)
    assert kept.get_many(["a", "b", "missing"]) == {"a": {"x": 1}, "b": [2, 3]}
    assert kept.get("missing", "default") == "default"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert kept.get_many(["a", "b"]) == {}


@pytest.mark.django_db
def test_keeping_again_replaces_and_lets_go_of_what_expired():
    kept.set("old", 1, timeout=10)
    kept.set("a", 1, timeout=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        kept.set("a", 2, timeout=60)
        assert kept.get("a") == 2
    assert KeptFigures.objects.count() == 1  # "old" went at the last keep


@pytest.mark.django_db
def test_clear_lets_go_of_everything():
    kept.set_many({"a": 1, "b": 2}, timeout=60)
    kept.clear()
    assert not KeptFigures.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
def test_two_keeping_the_same_figures_at_once_both_succeed():
    """Both keep the same keys, given in opposite orders, at the same moment, each in a
    transaction: rows are locked in one order, so one waits for the other rather than the
    two deadlocking; and the figures that expired go whoever lets go of them."""
    keys = [f"key-{number}" for number in range(200)]
    KeptFigures.objects.create(key="expired", value=b"", expires_at=timezone.now())
    errors, started = [], threading.Barrier(2)

    def keep(order):
        try:
            started.wait(timeout=10)
            with transaction.atomic():
                kept.set_many(dict.fromkeys(keys if order else keys[::-1], order), 60)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=keep, args=(order,)) for order in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    values = kept.get_many(keys)
    assert len(values) == 200 and len(set(values.values())) == 1  # one writer's, whole
    assert not KeptFigures.objects.filter(key="expired").exists()
