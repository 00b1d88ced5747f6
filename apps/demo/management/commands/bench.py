"""`make bench`: time every page at the budget's size (DESIGN.md: 100,000 projects and
1,000,000 transitions answer in well under a second on a 2-core machine).

It fills its own database (`make bench` points DATABASE_URL at one) with generated rows in
SQL, then requests each page through Django's test client as an admin, a manager and a rep,
and prints the median and worst time and the query count. It prints figures; it asserts
nothing: the test suite asserts query counts, this shows the speed.
"""

import statistics
import time

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Account
from apps.pipeline.models import Pipeline
from apps.projects.models import CustomerProject
from apps.users.models import Team, User
from apps.users.roles import Role

REPS = 40
ACCOUNTS = 5_000
TRANSITIONS_PER_PROJECT = 10


class Command(BaseCommand):
    help = "Fill a benchmark database to the budget's size and time every page."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=100_000)
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args, projects, repeat, **options):
        if "bench" not in connection.settings_dict["NAME"]:
            raise CommandError("Run this through `make bench`: it needs its own database.")
        if CustomerProject.objects.count() < projects:
            started = time.perf_counter()
            self._fill(projects)
            self.stdout.write(f"Filled in {time.perf_counter() - started:.0f} s.")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self._report(repeat)

    @transaction.atomic
    def _fill(self, projects: int) -> None:
        admin, _ = User.objects.get_or_create(
            username="bench-admin", defaults={"is_superuser": True}
        )
        manager, _ = User.objects.get_or_create(username="bench-manager")
        manager.groups.add(Group.objects.get(name=Role.MANAGER))
        team, _ = Team.objects.get_or_create(name="Bench team", defaults={"manager": manager})
        reps = []
        for number in range(REPS):
            rep, _ = User.objects.get_or_create(username=f"bench-rep-{number}")
            rep.groups.add(Group.objects.get(name=Role.REP))
            reps.append(rep.pk)
        team.members.add(*reps[:8])
        acquisition = Pipeline.objects.get(kind="acquisition", is_default=True)
        stages = list(acquisition.stages.order_by("order").values_list("pk", flat=True))
        won_stage = stages[-1]
        open_stages = stages[:-1]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO accounts_account
                    (name, website, industry, owner_id, relationship_level, notes,
                     created_at, updated_at)
                SELECT 'Bench account ' || g, '', 'other', (%(reps)s::bigint[])[1 + g %% %(n)s],
                       1 + g %% 7, '', now(), now()
                FROM generate_series(1, %(accounts)s) g
                ON CONFLICT DO NOTHING
                """,
                {"reps": reps, "n": len(reps), "accounts": ACCOUNTS},
            )
            # A third open across the stages, a third won, a third stopped.
            cursor.execute(
                """
                INSERT INTO projects_customerproject
                    (account_id, title, owner_id, pipeline_id, stage_id, status, value,
                     expected_close_date, individual_probability, present_state,
                     desired_state, buying_process, next_step, next_step_date, created_at,
                     updated_at, stage_entered_at, closed_at, version)
                SELECT a.id, 'Bench project ' || g, a.owner_id, %(pipeline)s,
                       CASE g %% 3 WHEN 1 THEN %(won)s
                            ELSE (%(open)s::bigint[])[1 + g %% %(n_open)s] END,
                       CASE g %% 3 WHEN 0 THEN 'open' WHEN 1 THEN 'won' ELSE 'stopped' END,
                       (g %% 500) * 1000, current_date + (g %% 365), NULLIF(g %% 11 * 10, 0),
                       'x', 'y', 'z', '', NULL, now() - (g %% 700) * interval '1 day', now(),
                       now() - (g %% 90) * interval '1 day',
                       CASE g %% 3 WHEN 0 THEN NULL ELSE now() END, %(transitions)s
                FROM generate_series(1, %(projects)s) g
                JOIN accounts_account a ON a.name = 'Bench account ' || (1 + g %% %(accounts)s)
                """,
                {
                    "pipeline": acquisition.pk,
                    "won": won_stage,
                    "open": open_stages,
                    "n_open": len(open_stages),
                    "projects": projects - CustomerProject.objects.count(),
                    "accounts": ACCOUNTS,
                    "transitions": TRANSITIONS_PER_PROJECT,
                },
            )
            cursor.execute(
                """
                INSERT INTO pipeline_stagetransition
                    (project_id, from_stage_id, to_stage_id, from_status, to_status,
                     effective_probability, individual_probability, value, ended_by,
                     stop_reason_id, user_id, created_at, note)
                SELECT p.id, p.stage_id, p.stage_id, 'open', 'open', 20, NULL, p.value, '',
                       NULL, p.owner_id, p.created_at + k * interval '1 day', ''
                FROM projects_customerproject p
                CROSS JOIN generate_series(1, %(per_project)s) k
                WHERE NOT EXISTS (
                    SELECT 1 FROM pipeline_stagetransition t WHERE t.project_id = p.id
                )
                """,
                {"per_project": TRANSITIONS_PER_PROJECT},
            )

    def _report(self, repeat: int) -> None:
        acquisition = Pipeline.objects.get(kind="acquisition", is_default=True)
        rep = User.objects.get(username="bench-rep-0")
        project = CustomerProject.objects.filter(owner=rep).order_by("pk").first()
        account = Account.objects.filter(owner=rep).order_by("pk").first()
        board = f"/pipeline/{acquisition.pk}/board/"
        pages = [
            ("bench-admin", board),
            ("bench-admin", f"{board}?value_min=100000&close_before=2099-01-01"),
            ("bench-manager", board),
            ("bench-rep-0", board),
            ("bench-admin", "/projects/"),
            ("bench-admin", "/projects/?o=-value&status=open"),
            ("bench-admin", "/projects/?q=Bench+project+4242"),
            ("bench-manager", "/projects/?o=-probability"),
            ("bench-rep-0", f"/projects/{project.pk}/"),
            ("bench-admin", "/accounts/"),
            ("bench-admin", "/accounts/?q=account+42&o=-level"),
            ("bench-rep-0", f"/accounts/{account.pk}/"),
        ]
        counts = (
            f"{CustomerProject.objects.count():,} projects, "
            f"{connection.introspection.table_names().__len__()} tables"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pipeline_stagetransition")
            transitions = cursor.fetchone()[0]
        self.stdout.write(f"Data: {counts}, {transitions:,} transitions. {repeat} runs per page.")
        self.stdout.write(
            f"{'user':<14} {'page':<58} {'median ms':>9} {'max ms':>7} {'queries':>7}"
        )
        for username, url in pages:
            client = Client()
            client.force_login(User.objects.get(username=username))
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
            self.stdout.write(
                f"{username:<14} {url:<58} {statistics.median(timings):>9.0f} "
                f"{max(timings):>7.0f} {len(queries):>7}"
            )
        client = Client()
        client.force_login(User.objects.get(username="bench-manager"))
        started = time.perf_counter()
        rows = sum(
            chunk.count(b"\n") for chunk in client.get("/projects/export.csv").streaming_content
        )
        self.stdout.write(
            f"CSV export of the manager's projects: {rows:,} lines in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
