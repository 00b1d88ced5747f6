"""Figures kept in the database (`KeptFigures`) for the analytics' days and months over: the
part of the cache's interface they use. A page keeps its figures in one upsert, its keys in
one order, and lets go of the expired ones skipping those another holds: two requests
keeping the same figures at once wait for each other but cannot deadlock. Keeping is a
saving, not a write the page is for: one that fails (a read-only database) is logged, and
the page shows the figures it computed.

The figures are pickled, as Django's database and Redis caches pickle theirs: whoever can
write this table can run code in the app, as with those."""

import hashlib
import logging
import pickle
import uuid
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.forecasting.models import KeptFigures

logger = logging.getLogger(__name__)


def _hashed(key: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(key.encode()).digest()[:16])


def get_many(keys) -> dict[str, Any]:
    """The figures kept under `keys` and not expired, by key. One query."""
    by_hash = {_hashed(key): key for key in keys}
    if not by_hash:
        return {}
    rows = KeptFigures.objects.filter(key__in=by_hash, expires_at__gt=timezone.now())
    return {
        by_hash[hashed]: pickle.loads(value) for hashed, value in rows.values_list("key", "value")
    }


def get(key: str, default=None):
    return get_many([key]).get(key, default)


def set_many(values: dict[str, Any], timeout: int) -> None:
    """Keep `values` for `timeout` seconds, and let go of what expired: two statements, in a
    transaction of their own (a savepoint inside the caller's)."""
    now = timezone.now()
    expires_at = now + timedelta(seconds=timeout)
    rows = [
        KeptFigures(key=_hashed(key), value=pickle.dumps(value), expires_at=expires_at)
        for key, value in values.items()
    ]
    rows.sort(key=lambda row: row.key)  # every writer locks them in this order
    expired = KeptFigures.objects.filter(expires_at__lte=now).select_for_update(skip_locked=True)
    try:
        with transaction.atomic():
            KeptFigures.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=["value", "expires_at"],
            )
            KeptFigures.objects.filter(key__in=expired.values("key")).delete()
    except DatabaseError:
        logger.warning("Figures could not be kept; they will be computed again.", exc_info=True)


def keep_longer(keys, timeout: int) -> None:
    """Keep the figures under `keys` for `timeout` seconds from now, skipping those another
    request holds (it keeps them itself): one statement, in a transaction of its own."""
    expires_at = timezone.now() + timedelta(seconds=timeout)
    held = KeptFigures.objects.filter(key__in=[_hashed(key) for key in keys])
    held = held.select_for_update(skip_locked=True)
    try:
        with transaction.atomic():
            KeptFigures.objects.filter(key__in=held.values("key")).update(expires_at=expires_at)
    except DatabaseError:
        logger.warning("Figures could not be kept longer.", exc_info=True)


def set(key: str, value: Any, timeout: int) -> None:  # noqa: A001 (the cache's name)
    set_many({key: value}, timeout)


def clear() -> None:
    """Let go of every kept figure: after the history was rewritten (a demo or bench fill)."""
    KeptFigures.objects.all().delete()
