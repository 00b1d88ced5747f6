"""Recompute the counts the ledger's writer keeps (apps/pipeline/counts.py) from the history
and report every row that differs: 0 when the writer wrote them right. With --rebuild, build
them afresh from the history (after history was written outside the app's services)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.pipeline import counts


class Command(BaseCommand):
    help = "Check the analytics' counts against the history (and rebuild them with --rebuild)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Build the counts afresh from the history."
        )

    def handle(self, *args, rebuild, **options):
        if rebuild:
            with transaction.atomic():
                counts.rebuild()
            self.stdout.write("Counts rebuilt from the history.")
        found = counts.differences()
        for name, differing in found.items():
            self.stdout.write(f"{name}: {differing} rows differ from the history")
        if any(found.values()):
            raise CommandError(
                "The counts differ from the history: `manage.py check_counts --rebuild` "
                "builds them afresh."
            )
        self.stdout.write(self.style.SUCCESS("The counts agree with the history."))
