"""The store of kept figures (apps/forecasting/kept.py): what is kept is read back until it
expires, expired figures are let go, two processes keeping the same figures at once both
succeed, and a keep that fails costs the page nothing."""

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.forecasting import kept
from apps.forecasting.models import KeptFigures
from apps.forecasting.tests.test_analytics import _at, history  # noqa: F401

REFUSE_KEEPING = """
CREATE FUNCTION test_refuse_keeping() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction (a test)'; END $$
LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_keeping BEFORE INSERT ON forecasting_keptfigures
    FOR EACH ROW EXECUTE FUNCTION test_refuse_keeping();
"""


@pytest.mark.django_db
def test_figures_are_read_back_by_key_until_they_expire():
    kept.set_many({"a": {"x": 1}, "b": [2, 3]}, timeout=60)
    kept.set("c", None, timeout=60)
    assert kept.get_many(["a", "b", "missing"]) == {"a": {"x": 1}, "b": [2, 3]}
    assert kept.get("missing", "default") == "default"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert kept.get_many(["a", "b"]) == {}


@pytest.mark.django_db
def test_figures_kept_longer_last_from_then():
    kept.set_many({"a": 1, "b": 2}, timeout=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=50)):
        kept.keep_longer(["a", "missing"], timeout=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=100)):
        assert kept.get_many(["a", "b"]) == {"a": 1}


@pytest.mark.django_db
def test_keeping_again_replaces_and_lets_go_of_what_expired():
    kept.set("old", 1, timeout=10)
    kept.set("a", 1, timeout=60)
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        kept.set("a", 2, timeout=60)
        assert kept.get("a") == 2
    assert KeptFigures.objects.count() == 1  # "old" went at the last keep


@pytest.mark.django_db
def test_every_writer_writes_its_keys_in_one_order():
    keys = [f"key-{number}" for number in range(30)]
    written = []
    for order in (keys, keys[::-1]):
        with CaptureQueriesContext(connection) as queries:
            kept.set_many(dict.fromkeys(order, 1), timeout=60)
        [insert] = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
        written.append(re.findall(r"'([0-9a-f]{32})'::uuid", insert))
    assert len(written[0]) == 30 and written[0] == written[1] == sorted(written[0])


@pytest.mark.django_db
def test_a_keep_that_fails_costs_the_page_nothing(client, history, manager, caplog):  # noqa: F811
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_KEEPING)  # dropped with the test's transaction
    client.force_login(manager)
    with time_machine.travel(_at(6, 1), tick=False):
        response = client.get("/analytics/?start=2025-06-02&end=2026-06-01")
    assert response.status_code == 200
    assert (response.context["result"].won, response.context["result"].lost) == (2, 2)
    assert not KeptFigures.objects.exists()
    assert "Figures could not be kept" in caplog.text


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
    expired = kept._hashed("expired")
    KeptFigures.objects.create(key=expired, value=b"", expires_at=timezone.now())
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
    assert not KeptFigures.objects.filter(key=expired).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
def test_keeping_longer_skips_what_another_holds_without_waiting():
    """Another request keeping a row (its transaction holds the row's lock) is not waited
    for: that request keeps it itself; the other rows are kept longer."""
    kept.set_many({"held": 1, "free": 2}, timeout=60)
    holding, done = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(KeptFigures.objects.select_for_update().filter(key=kept._hashed("held")))
                holding.set()
                assert done.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        kept.keep_longer(["held", "free"], timeout=3600)
    finally:
        done.set()
        holder.join(timeout=10)
    lasting = dict(KeptFigures.objects.values_list("key", "expires_at"))
    later = timezone.now() + timedelta(seconds=600)
    assert lasting[kept._hashed("free")] > later
    assert lasting[kept._hashed("held")] < later
