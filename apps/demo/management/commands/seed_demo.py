import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.demo import accounts, people, projects, reviews, targets


class Command(BaseCommand):
    help = (
        "Create the demo users and teams (idempotent and deterministic). For local use only: "
        "the passwords are printed and known, so it refuses to run with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off. Never in production."
        )

    def handle(self, *args, seed, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with known passwords, so it does not run with DEBUG "
                "off. Pass --force if this really is a throwaway installation."
            )
        rng = random.Random(seed)
        with transaction.atomic():
            cast = people.seed(rng)
            reps = [user for user, role in cast if role == people.Role.REP]
            demo_accounts = accounts.seed(rng, reps)
            project_count = projects.seed(rng, reps)
            target_count = targets.seed()
            meeting_count = reviews.seed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data is in place: {len(cast)} users, {len(demo_accounts)} accounts, "
                f"{project_count} customer projects, {target_count} targets, "
                f"{meeting_count} review meetings."
            )
        )
        self.stdout.write("Demo logins (local use only):")
        width = max(len(user.username) for user, _ in cast)
        for user, role in cast:
            self.stdout.write(
                f"  {user.username:<{width}}  {people.DEMO_PASSWORD}  {role.label:<14}  {user}"
            )
