"""Compute and keep the analytics' figures of the days and months over, after a deploy.

A deploy that changes how they are computed sets every kept figure aside (the key holds a
hash of the code they are read with, `selectors.KEPT_BY`), and the first view of each view
of the data would then read its whole year: at 100,000 projects 1.3-2.4 s for an admin,
0.25-0.9 s for a manager. Run after `migrate`, this reads them instead, once for each view of
the default period (of every pipeline together, and of each pipeline) that admins and
managers have (every admin sees the same figures; a manager, those of their teams), so their
pages read only today's history. Reps'
views are left to their first view (about 0.1 s).

With `--afresh` it first lets go of every kept figure: after history was changed outside the
app (a fix in SQL), which raises no revision of the days it changed.
"""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from apps.forecasting import kept as kept_figures
from apps.forecasting import selectors
from apps.forecasting.forms import year_before
from apps.pipeline.models import Pipeline
from apps.users.models import User
from apps.users.roles import Role


class Command(BaseCommand):
    help = "Compute and keep the analytics of the days and months over for admins and managers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--afresh",
            action="store_true",
            help="Let go of every kept figure first (after history was changed outside the app).",
        )

    def handle(self, *args, afresh: bool = False, **options):
        if afresh:
            kept_figures.clear()
        today = timezone.localdate()
        people = User.objects.filter(
            Q(is_superuser=True) | Q(groups__name__in=[Role.ADMIN, Role.MANAGER]),
            is_active=True,
        )
        # Every pipeline together first: the page's default view.
        pipelines = [None, *Pipeline.objects.order_by("pk")]
        kept = set()
        for user in people.distinct().order_by("pk"):
            scope = selectors.scope_of(user)
            for pipeline in pipelines:
                key = (scope, pipeline.pk if pipeline else None)
                if key in kept:
                    continue
                started = time.perf_counter()
                selectors.analytics(
                    user,
                    pipeline=pipeline,
                    start=year_before(today),
                    end=today + timedelta(days=1),
                    scope=scope,
                )
                kept.add(key)
                self.stdout.write(
                    f"{pipeline or 'All pipelines'}, as {user.username} sees it: "
                    f"{(time.perf_counter() - started) * 1000:.0f} ms"
                )
        self.stdout.write(f"Kept the analytics of {len(kept)} views.")
