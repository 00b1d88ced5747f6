"""`make bench`: time every page at the budget's size (DESIGN.md, "Budgets": 100,000 projects
and 1,000,000 transitions on a 2-core machine), and the forecast as of past dates.

It fills its own database (`make bench` points DATABASE_URL at one) with two years of
generated history (apps/demo/bench_data.py): projects, their stage transitions and their
state ledger, consistent with each other as the lifecycle services would have written them,
with the ledger's triggers and constraints on. Then it checks that consistency in SQL,
requests each page through Django's test client as an admin, a manager and a rep, and times
the "as of" and "what changed" selectors. It prints figures; it asserts nothing: the test
suite asserts query counts, this shows the speed.
"""

import itertools
import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import TruncMonth
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.demo import bench_data
from apps.pipeline import counts, ledger
from apps.pipeline.models import Pipeline, PipelineKind, ProjectState, StopReason
from apps.pipeline.selectors import changes_between, projects_as_of
from apps.projects.models import CustomerProject
from apps.users.models import Team, User
from apps.users.roles import Role

# A sales organisation of a few hundred reps (about 330 projects each, some 95 open): a
# team of 8 for the manager's pages, one of 30 for the review meeting's. A bigger fill is a
# bigger organisation of reps alike: the reps and accounts grow with the projects.
PROJECTS_PER_REP = 333
PROJECTS_PER_ACCOUNT = 10


def reps_for(projects: int) -> int:
    return max(30, round(projects / PROJECTS_PER_REP / 100) * 100)


def accounts_for(projects: int) -> int:
    return max(1, projects // PROJECTS_PER_ACCOUNT)


BATCH = 10_000  # projects per transaction: bounds the deferred trigger queue
LOADERS = 2  # connections loading batches at once: one per core of the budget's machine
SEED = 1
RESULTS = Path("bench/results.json")
EXPORT_RUNS = 3
REFERENCE_LOOP = 10_000_000  # the machine's speed at Python…
REFERENCE_SUMS = 1_000_000  # …and at PostgreSQL's arithmetic on numerics
# One year ago the admin raised Decision's default from 50 % to today's 60 %.
REWEIGHTED_STAGE = "Decision"
REWEIGHTED_FROM = 50
REWEIGHTED_DAYS_AGO = 365
AS_OF_DAYS_AGO = (10, 130, 250, 370, 490, 610)
# Every sort of the project list, half of them reversed.
MIDDLE_SORTS = (
    "title",
    "-account",
    "owner",
    "-stage",
    "value",
    "-probability",
    "close",
    "-updated",
)
HISTORY_IN_TIME_ORDER = [
    ("pipeline_stagetransition", "pipeline_transition_time_idx"),
    ("pipeline_projectstate", "pipeline_state_began_idx"),
]

PROJECT_COLUMNS = (
    "id, account_id, title, owner_id, pipeline_id, stage_id, status, value, "
    "expected_close_date, individual_probability, present_state, desired_state, "
    "buying_process, next_step, next_step_date, created_at, updated_at, updated_by_id, "
    "stage_entered_at, closed_at, version"
)
# Everything but the id and effective_probability, which the database generates.
PERIOD_COLUMNS = (
    "project_id, period, owner_id, pipeline_id, stage_id, stage_order, "
    "stage_default_probability, status, value, expected_close_date, individual_probability, "
    "changed_by_id, transition_id"
)
# A transition is the ledger period it begins, compared with the period before it; these
# are the facts it has that the ledger does not.
STAGE_TRANSITION_EXTRAS = """
CREATE TEMP TABLE IF NOT EXISTS bench_transition (
    id bigint PRIMARY KEY,
    previous_stage_entered_at timestamptz,
    ended_by varchar(10) NOT NULL,
    stop_reason_id bigint,
    note text NOT NULL
) ON COMMIT DELETE ROWS
"""
# The transitions, derived from the ledger periods they begin: the effective % after and
# before come from the ledger's generated column, the one SQL rule, never from Python.
INSERT_TRANSITIONS = """
INSERT INTO pipeline_stagetransition
    (id, project_id, from_stage_id, to_stage_id, from_stage_order, to_stage_order,
     stage_default_probability, from_status, to_status, prior_probability,
     effective_probability, individual_probability, value, owner_id, expected_close_date,
     previous_stage_entered_at, ended_by, stop_reason_id, user_id, created_at, note)
SELECT t.id, began.project_id, before.stage_id, began.stage_id, before.stage_order,
       began.stage_order, began.stage_default_probability, COALESCE(before.status, ''),
       began.status, before.effective_probability, began.effective_probability,
       began.individual_probability, began.value, began.owner_id, began.expected_close_date,
       t.previous_stage_entered_at, t.ended_by, t.stop_reason_id, began.changed_by_id,
       lower(began.period), t.note
FROM bench_transition t
JOIN pipeline_projectstate began ON began.transition_id = t.id
LEFT JOIN pipeline_projectstate before
    ON before.project_id = began.project_id AND upper(before.period) = lower(began.period)
"""
# Each check counts the rows that break an invariant: all should be 0.
CHECKS = {
    "projects whose current period differs from the row": """
        SELECT count(*) FROM projects_customerproject p
        JOIN pipeline_stage s ON s.id = p.stage_id
        LEFT JOIN pipeline_projectstate x ON x.project_id = p.id AND upper_inf(x.period)
        WHERE ROW(x.owner_id, x.pipeline_id, x.stage_id, x.stage_order,
                  x.stage_default_probability, x.status, x.value, x.expected_close_date,
                  x.individual_probability)
              IS DISTINCT FROM
              ROW(p.owner_id, p.pipeline_id, p.stage_id, s."order",
                  -- A re-weighting restates open projects only (record_stage_changes).
                  CASE WHEN p.status = 'open' THEN s.default_probability
                       ELSE x.stage_default_probability END,
                  p.status, p.value, p.expected_close_date, p.individual_probability)""",
    "periods that do not touch the next one (gaps)": """
        SELECT count(*) FROM (
            SELECT upper(period) AS ended,
                   lead(lower(period)) OVER (PARTITION BY project_id ORDER BY lower(period))
                       AS next_began
            FROM pipeline_projectstate
        ) x WHERE ended IS DISTINCT FROM next_began""",
    "transitions without the ledger period they began": """
        SELECT count(*) FROM pipeline_stagetransition t
        WHERE NOT EXISTS (SELECT 1 FROM pipeline_projectstate x WHERE x.transition_id = t.id)""",
    "transitions whose facts differ from their period's": """
        SELECT count(*) FROM pipeline_stagetransition t
        JOIN pipeline_projectstate x ON x.transition_id = t.id
        WHERE ROW(t.project_id, t.to_stage_id, t.to_status, t.value, t.owner_id,
                  t.expected_close_date, t.individual_probability, t.effective_probability,
                  t.stage_default_probability, t.created_at)
              IS DISTINCT FROM
              ROW(x.project_id, x.stage_id, x.status, x.value, x.owner_id,
                  x.expected_close_date, x.individual_probability, x.effective_probability,
                  x.stage_default_probability, lower(x.period))""",
    "projects whose last transition is not their stage and status": """
        SELECT count(*) FROM projects_customerproject p
        JOIN LATERAL (
            SELECT to_stage_id, to_status FROM pipeline_stagetransition t
            WHERE t.project_id = p.id ORDER BY t.created_at DESC, t.id DESC LIMIT 1
        ) last ON true
        WHERE (last.to_stage_id, last.to_status) IS DISTINCT FROM (p.stage_id, p.status)""",
    "projects whose stage_entered_at or closed_at disagree with the transitions": """
        SELECT count(*) FROM projects_customerproject p
        WHERE p.stage_entered_at IS DISTINCT FROM (
                SELECT max(created_at) FROM pipeline_stagetransition t
                WHERE t.project_id = p.id AND t.from_stage_id IS DISTINCT FROM t.to_stage_id)
           OR p.closed_at IS DISTINCT FROM (
                SELECT max(created_at) FROM pipeline_stagetransition t
                WHERE t.project_id = p.id AND p.status <> 'open')""",
    "periods in the reweighted stage with another default than at their start, or open "
    "across the reweighting": """
        SELECT count(*) FROM pipeline_projectstate x
        JOIN pipeline_stage s ON s.id = x.stage_id AND s.name = %(stage)s
        WHERE x.stage_default_probability <> CASE WHEN lower(x.period) < %(at)s
                                                  THEN %(before)s ELSE s.default_probability END
           OR (x.status = 'open' AND x.period @> %(at)s AND lower(x.period) < %(at)s)""",
}

# When the reweighting was (the fill's clock): the moment the admin's periods without a
# transition began most often, as every split began then.
REWEIGHTED_AT = """
SELECT lower(x.period) FROM pipeline_projectstate x
JOIN users_user u ON u.id = x.changed_by_id AND u.username = 'bench-admin'
WHERE x.transition_id IS NULL
GROUP BY 1 ORDER BY count(*) DESC LIMIT 1
"""


def invariants() -> tuple[datetime | None, dict[str, int | None]]:
    """When the reweighting was (None without one), and the rows breaking each of CHECKS
    (None for the reweighting's check when there was none)."""
    broken = {}
    with connection.cursor() as cursor:
        cursor.execute(REWEIGHTED_AT)
        reweighted_at = (cursor.fetchone() or [None])[0]
        params = {"stage": REWEIGHTED_STAGE, "at": reweighted_at, "before": REWEIGHTED_FROM}
        for name, sql in CHECKS.items():
            needs_reweighting = "%(" in sql
            if needs_reweighting and reweighted_at is None:
                broken[name] = None
                continue
            cursor.execute(sql, params if needs_reweighting else None)
            broken[name] = cursor.fetchone()[0]
    return reweighted_at, broken


class Command(BaseCommand):
    help = "Fill a benchmark database to the budget's size and time every page."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=100_000)
        parser.add_argument(
            "--repeat",
            type=int,
            default=5,
            help="Requests per page (two at least: a 95th percentile needs two).",
        )
        parser.add_argument(
            "--refill", action="store_true", help="Fill again even if the data is in place."
        )
        parser.add_argument(
            "--fill-only",
            action="store_true",
            help="Fill (if needed) and check the data, time nothing (`make load` uses it).",
        )
        parser.add_argument(
            "--only",
            default="",
            help="Time only the pages whose address contains this, or one of these "
            "(comma-separated), and skip the rest.",
        )

    def handle(self, *args, projects, repeat, refill, fill_only, only, **options):
        if repeat < 2:
            raise CommandError("--repeat must be 2 or more: a 95th percentile needs two runs.")
        if "bench" not in connection.settings_dict["NAME"]:
            raise CommandError("Run this through `make bench`: it needs its own database.")
        if refill or not self._filled(projects):
            # The history ends at midnight (UTC): a fill is the same all day.
            now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
            started = time.perf_counter()
            self._fill(projects, now, now - timedelta(days=REWEIGHTED_DAYS_AGO))
            ledger.recompute_reached_stages()
            counts.rebuild()  # the history was written in bulk, not through the writer
            self.stdout.write(f"Filled in {time.perf_counter() - started:.0f} s.")
            started = time.perf_counter()
            with connection.cursor() as cursor:
                # A live system appends its history as it happens, so its pages hold it in
                # time order; the fill writes it project by project. Lay it out as it would
                # be, or every "what happened in these two weeks" reads pages all over.
                # Sorting 10,000,000 rows in the default 64 MB spills to disk for an hour.
                cursor.execute("SET maintenance_work_mem = '1GB'")
                for table, index in HISTORY_IN_TIME_ORDER:
                    cursor.execute(f"CLUSTER {table} USING {index}")
                cursor.execute("VACUUM ANALYZE")
            self.stdout.write(
                f"History laid out in time order, VACUUM ANALYZE: "
                f"{time.perf_counter() - started:.0f} s."
            )
        self._check()
        if fill_only:
            return
        machine = self._report_machine()
        pages = self._report(repeat, only)
        if not only:
            exports = self._report_exports()
            RESULTS.parent.mkdir(exist_ok=True)
            results = {"machine": machine, "pages": pages, "exports": exports}
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            self.stdout.write(f"(Pages and exports written to {RESULTS}.)")
            self._report_ledger(repeat)

    def _filled(self, projects: int) -> bool:
        """Whether the database holds the generated history of `projects` projects for their
        reps (`reps_for`): not an older bench's rows without a ledger or with other owners,
        nor a fill that stopped halfway."""
        with_ledger = Exists(ProjectState.objects.filter(project=OuterRef("pk")))
        return (
            CustomerProject.objects.count() == projects
            and not CustomerProject.objects.filter(~with_ledger).exists()
            and CustomerProject.objects.values("owner").distinct().count() == reps_for(projects)
            and Account.objects.filter(name__startswith="Bench account ").count()
            == accounts_for(projects)
        )

    def _fill(self, projects: int, now, reweighted_at) -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The bench's own database (checked above): start the history from scratch.
                cursor.execute(
                    "TRUNCATE projects_customerproject, pipeline_stagetransition, "
                    "pipeline_projectstate RESTART IDENTITY CASCADE"
                )
            admin, reps, accounts = self._people_and_accounts(projects)
        rng = random.Random(SEED)
        pipelines = {
            pipeline.kind: bench_data.BenchPipeline(
                pk=pipeline.pk, stages=tuple(pipeline.stages.order_by("order"))
            )
            for pipeline in Pipeline.objects.filter(is_default=True)
        }
        bench_accounts = [
            bench_data.Account(
                pk,
                owner,
                pipelines[
                    PipelineKind.DEVELOPMENT
                    if level >= RelationshipLevel.SHOPPER and rng.random() < 0.4
                    else PipelineKind.ACQUISITION
                ],
            )
            for pk, owner, level in accounts
        ]
        reweighting = bench_data.Reweighting(
            stage_pks=frozenset(
                stage.pk
                for pipeline in pipelines.values()
                for stage in pipeline.stages
                if stage.name == REWEIGHTED_STAGE
            ),
            at=int(reweighted_at.timestamp()),
            before=REWEIGHTED_FROM,
        )
        generator = bench_data.HistoryGenerator(
            rng,
            now=int(now.timestamp()),
            reps=reps,
            admin=admin,
            reasons=list(StopReason.objects.values_list("pk", flat=True)),
            reweighting=reweighting,
        )
        totals = {"transitions": 0, "periods": 0, "edits": 0, "splits": 0}
        python_seconds = 0.0
        # Generate in this thread, in order (the data depends on the seed and the day), and load
        # each batch on another connection while the next is generated: the ledger's
        # exclusion constraint and the deferred checks at commit keep one core busy per load.
        with ThreadPoolExecutor(LOADERS, thread_name_prefix="bench-load") as loaders:
            loading = []
            for first in range(0, projects, BATCH):
                started = time.perf_counter()
                count = min(BATCH, projects - first)
                batch = bench_data.Batch()
                numbers = itertools.count()  # the batch's transitions, until they get ids
                for offset, pk in enumerate(self._new_ids("projects_customerproject", count)):
                    generator.add_project(
                        batch,
                        number=first + offset + 1,
                        pk=pk,
                        account=rng.choice(bench_accounts),
                        transition_numbers=numbers,
                    )
                transition_ids = self._new_ids("pipeline_stagetransition", len(batch.transitions))
                python_seconds += time.perf_counter() - started
                if len(loading) == LOADERS:
                    loading.pop(0).result()
                loading.append(loaders.submit(self._load, batch, transition_ids))
                totals["transitions"] += len(batch.transitions)
                totals["periods"] += len(batch.periods)
                totals["edits"] += batch.edits
                totals["splits"] += batch.splits
                self.stdout.write(
                    f"  {first + count:,} projects, {totals['transitions']:,} transitions",
                    ending="\r",
                )
                self.stdout.flush()
            for done in loading:
                done.result()
        self.stdout.write(
            f"Generated {projects:,} projects, {totals['transitions']:,} transitions "
            f"({totals['transitions'] / projects:.1f} per project), {totals['periods']:,} "
            f"ledger periods: {totals['edits']:,} edits and {totals['splits']:,} splits at "
            f"the reweighting of {REWEIGHTED_STAGE} ({REWEIGHTED_FROM} % to today's default "
            f"on {reweighted_at:%Y-%m-%d}). Python: {python_seconds:.0f} s."
        )

    def _people_and_accounts(
        self, projects: int
    ) -> tuple[int, list[int], list[tuple[int, int, int]]]:
        admin, _ = User.objects.get_or_create(
            username="bench-admin", defaults={"is_superuser": True}
        )
        manager, _ = User.objects.get_or_create(username="bench-manager")
        manager.groups.add(Group.objects.get(name=Role.MANAGER))
        team, _ = Team.objects.get_or_create(name="Bench team", defaults={"manager": manager})
        rep_group = Group.objects.get(name=Role.REP)
        reps = []
        for number in range(reps_for(projects)):
            rep, _ = User.objects.get_or_create(username=f"bench-rep-{number}")
            rep.groups.add(rep_group)
            reps.append(rep.pk)
        team.members.add(*reps[:8])
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO accounts_account
                    (name, website, industry, owner_id, relationship_level, notes,
                     created_at, updated_at, version)
                SELECT 'Bench account ' || g, '', 'other', (%(reps)s::bigint[])[1 + g %% %(n)s],
                       1 + g %% 7, '', now() - interval '800 days', now(), 1
                FROM generate_series(1, %(accounts)s) g
                ON CONFLICT ((lower(name))) DO UPDATE SET owner_id = EXCLUDED.owner_id
                """,
                {"reps": reps, "n": len(reps), "accounts": accounts_for(projects)},
            )
        accounts = list(
            Account.objects.filter(name__startswith="Bench account ")
            .order_by("pk")
            .values_list("pk", "owner_id", "relationship_level")
        )
        return admin.pk, reps, accounts

    def _new_ids(self, table: str, count: int) -> list[int]:
        """`count` ids from `table`'s sequence, so rows can name each other before insert."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def _load(self, batch: bench_data.Batch, transition_ids: list[int]) -> None:
        """Write one batch in one transaction, on this thread's own connection: the projects
        and their ledger periods by COPY, then the transitions from the periods they began.
        The deferred checks (a current period for every project, the foreign keys) run at
        its commit."""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg's, for COPY
                with raw.copy(
                    f"COPY projects_customerproject ({PROJECT_COLUMNS}) FROM STDIN"
                ) as copy:
                    for row in batch.projects:
                        copy.write_row(row)
                with raw.copy(f"COPY pipeline_projectstate ({PERIOD_COLUMNS}) FROM STDIN") as copy:
                    for *row, number in batch.periods:
                        copy.write_row((*row, None if number is None else transition_ids[number]))
                cursor.execute(STAGE_TRANSITION_EXTRAS)
                with raw.copy("COPY bench_transition FROM STDIN") as copy:
                    for number, *extras in batch.transitions:
                        copy.write_row((transition_ids[number], *extras))
                cursor.execute("ANALYZE bench_transition")
                cursor.execute(INSERT_TRANSITIONS)
        finally:
            connection.close()

    def _check(self) -> None:
        reweighted_at, broken = invariants()
        self.stdout.write(
            f"Invariants (rows breaking each; all should be 0; {REWEIGHTED_STAGE} "
            f"reweighted on {reweighted_at:%Y-%m-%d %H:%M:%S}):"
        )
        for name, count in broken.items():
            self.stdout.write(f"  {count:>7,}  {name}")
        for name, differing in counts.differences().items():
            self.stdout.write(f"  {differing:>7,}  rows of {name} that differ from the history")
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*) FILTER (WHERE status = 'open'),
                       count(*) FILTER (WHERE status = 'won'),
                       count(*) FILTER (WHERE status = 'stopped'),
                       (SELECT count(*) FROM pipeline_projectstate),
                       (SELECT count(*) FROM pipeline_projectstate WHERE transition_id IS NULL),
                       (SELECT count(*) FROM pipeline_stagetransition
                        WHERE from_status = 'stopped'),
                       (SELECT count(*) FROM pipeline_stagetransition
                        WHERE from_stage_order > to_stage_order AND to_status = 'open')
                FROM projects_customerproject
                """
            )
            opened, won, stopped, periods, edits, reopened, back = cursor.fetchone()
        total = opened + won + stopped
        self.stdout.write(
            f"Projects: {opened:,} open ({opened / total:.0%}), {won:,} won, {stopped:,} "
            f"stopped; {periods:,} ledger periods ({edits:,} without a transition: edits and "
            f"reweighting splits); {reopened:,} reopenings, {back:,} moves back."
        )

    def _report_machine(self) -> dict:
        """The machine, and how fast it is at two fixed pieces of work: figures from two
        machines of the same size differ by as much as these do (virtual cores vary)."""

        def python_loop():
            total = 0
            for number in range(REFERENCE_LOOP):
                total += number
            return total

        def sql_sums():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT sum(n::numeric * n / 100) FROM generate_series(1, %s) AS n",
                    [REFERENCE_SUMS],
                )
                return cursor.fetchone()

        machine = {
            "cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
            "python_loop_ms": round(statistics.median(self._time(3, python_loop)[0])),
            "sql_sums_ms": round(statistics.median(self._time(3, sql_sums)[0])),
        }
        self.stdout.write(
            f"Machine: {machine['cores']} cores, {machine['memory_gib']} GiB; "
            f"{REFERENCE_LOOP:,} additions in a Python loop: {machine['python_loop_ms']} ms, "
            f"{REFERENCE_SUMS:,} numeric products summed in PostgreSQL: "
            f"{machine['sql_sums_ms']} ms (medians of 3: to compare runs on two machines)."
        )
        return machine

    def _report(self, repeat: int, only: str) -> list[dict]:
        acquisition = Pipeline.objects.get(kind="acquisition", is_default=True)
        rep = User.objects.get(username="bench-rep-0")
        # A period that begins mid-month: its first days are read from the history.
        mid_year = (timezone.localdate() - timedelta(days=200)).isoformat()
        project = CustomerProject.objects.filter(owner=rep).order_by("pk").first()
        account = Account.objects.filter(owner=rep).order_by("pk").first()
        board = f"/pipeline/{acquisition.pk}/board/"
        # The review budget's team: 30 reps, with their manager (made here, so an existing
        # bench database needs no refill).
        big_manager, _ = User.objects.get_or_create(username="bench-manager-30")
        big_manager.groups.add(Group.objects.get(name=Role.MANAGER))
        big_team, _ = Team.objects.get_or_create(
            name="Bench team of 30", defaults={"manager": big_manager}
        )
        big_team.members.set(
            User.objects.filter(username__startswith="bench-rep-").order_by("pk")[:30]
        )
        team = Team.objects.get(name="Bench team")
        big_account = (
            Account.objects.filter(owner=rep).annotate(n=Count("projects")).order_by("-n").first()
        )
        # A close date a person may type (pipeline_crm/bounds.py): 2099 is refused, and then
        # the board would be timed without the filter.
        close_before = (timezone.localdate() + timedelta(days=5 * 365)).isoformat()
        pages = [
            ("bench-admin", board),
            ("bench-admin", f"{board}?value_min=100000&close_before={close_before}"),
            ("bench-manager", board),
            ("bench-rep-0", board),
            ("bench-admin", "/projects/"),
            ("bench-admin", "/projects/?o=-value&status=open"),
            ("bench-admin", "/projects/?q=Bench+project+4242"),
            ("bench-admin", "/projects/?q=account+42"),
            # Deep pages: the last of 4,000, and the middle of every sort (the worst page).
            ("bench-admin", "/projects/?page=4000"),
            *(("bench-admin", f"/projects/?o={order}&page=2000") for order in MIDDLE_SORTS),
            ("bench-admin", "/projects/?o=account&page=3000"),
            ("bench-manager", "/projects/?o=-probability"),
            ("bench-manager", f"/projects/?team={team.pk}&o=stage&page=50"),
            ("bench-rep-0", "/projects/?o=title&status=open"),
            ("bench-rep-0", f"/projects/{project.pk}/"),
            ("bench-manager", f"/projects/{project.pk}/"),
            ("bench-admin", f"/projects/{project.pk}/"),
            ("bench-admin", "/accounts/"),
            ("bench-admin", "/accounts/?q=account+42&o=-level"),
            ("bench-admin", "/accounts/?page=400"),
            ("bench-manager", "/accounts/"),
            ("bench-rep-0", "/accounts/"),
            ("bench-rep-0", f"/accounts/{account.pk}/"),
            ("bench-admin", f"/accounts/{big_account.pk}/"),
            ("bench-admin", "/forecast/"),
            ("bench-admin", "/forecast/?group=rep"),
            ("bench-admin", "/forecast/?period=quarter&count=4&group=stage"),
            ("bench-manager", "/forecast/?group=team"),
            ("bench-manager", "/forecast/"),
            ("bench-rep-0", "/forecast/"),
            ("bench-admin", "/analytics/"),
            ("bench-manager", "/analytics/"),
            ("bench-rep-0", "/analytics/"),
            ("bench-admin", f"/analytics/?pipeline={acquisition.pk}&start={mid_year}"),
            ("bench-manager-30", "/analytics/"),
            ("bench-manager", f"/reviews/prepare/?team={team.pk}"),
            ("bench-manager-30", f"/reviews/prepare/?team={big_team.pk}"),
            ("bench-admin", "/"),
            ("bench-manager", "/"),
            ("bench-rep-0", "/"),
            ("bench-admin", "/search/?q=bench+account+42"),
            ("bench-admin", "/search/?q=proj+4242"),
            ("bench-manager", "/search/?q=account+77"),
            ("bench-rep-0", "/search/?q=bench"),
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pipeline_stagetransition")
            transitions = cursor.fetchone()[0]
        self.stdout.write(
            f"Data: {CustomerProject.objects.count():,} projects, "
            f"{len(connection.introspection.table_names())} tables, {transitions:,} transitions. "
            f"{repeat} runs per page."
        )
        self.stdout.write(
            f"{'user':<16} {'page':<58} {'median ms':>9} {'p95 ms':>7} {'queries':>7} {'in SQL':>6}"
        )
        selected = [page for page in pages if any(part in page[1] for part in only.split(","))]
        results = []
        for username, url in selected:
            client = Client()
            client.force_login(User.objects.get(username=username))
            timings, _, queries, sql_ms = self._time(repeat, partial(_get, client, url))
            result = {
                "user": username,
                "page": url,
                "median_ms": round(statistics.median(timings), 1),
                # With few runs the 95th percentile is near the slowest; said as measured.
                "p95_ms": round(statistics.quantiles(timings, n=20, method="inclusive")[18], 1),
                "max_ms": round(max(timings), 1),
                "queries": queries,
                "sql_share": round(sql_ms / sum(timings), 2),
                "runs": repeat,
            }
            results.append(result)
            self.stdout.write(
                f"{username:<16} {url:<58} {result['median_ms']:>9.0f} {result['p95_ms']:>7.0f} "
                f"{result['queries']:>7} {result['sql_share']:>6.0%}"
            )
        return results

    def _report_exports(self) -> list[dict]:
        """The CSV export of every project each role sees: time and peak memory. The budget:
        100,000 projects in 5 s, in memory that does not grow with the rows. (Rows are counted
        by line: the bench's names have no line breaks.)"""
        results = []
        self.stdout.write(
            f"CSV export of every visible project, median of {EXPORT_RUNS} "
            "(budget: 100,000 rows in 5 s):"
        )
        self.stdout.write(
            f"{'user':<16} {'rows':>8} {'seconds':>8} {'RSS before MB':>13} {'peak MB':>8}"
        )
        for username in ("bench-rep-0", "bench-manager", "bench-admin"):
            client = Client()
            client.force_login(User.objects.get(username=username))
            before = peak = _rss_mb()
            timings = []
            for _ in range(EXPORT_RUNS):
                rows = 0
                started = time.perf_counter()
                for chunk in client.get("/projects/export.csv").streaming_content:
                    rows += chunk.count(b"\n")
                    peak = max(peak, _rss_mb())  # a chunk is some hundreds of lines
                timings.append(time.perf_counter() - started)
            seconds = statistics.median(timings)
            self.stdout.write(
                f"{username:<16} {rows - 1:>8,} {seconds:>8.1f} {before:>13.0f} {peak:>8.0f}"
            )
            results.append(
                {
                    "user": username,
                    "page": "/projects/export.csv",
                    "rows": rows - 1,
                    "seconds": round(seconds, 2),
                    "rss_before_mb": round(before),
                    "peak_rss_mb": round(peak),
                }
            )
        return results

    def _report_ledger(self, repeat: int) -> None:
        """The weighted forecast by close month as of past dates (budget: 150 ms median), and
        the changes of the last two weeks (the review meeting's read)."""
        admin = User.objects.get(username="bench-admin")
        manager = User.objects.get(username="bench-manager")
        now = timezone.now()

        def forecast(moment):
            return (
                projects_as_of(admin, moment)
                .open()
                .with_weighted_value()
                .annotate(month=TruncMonth("expected_close_date"))
                .values("month")
                .annotate(count=Count("pk"), value=Sum("value"), weighted=Sum("weighted_value"))
                .order_by("month")
            )

        self.stdout.write(f"Forecast as of a past date (bench-admin), {repeat} runs each:")
        self.stdout.write(
            f"{'as of':<12} {'open':>7} {'weighted':>15} {'months':>6} "
            f"{'median ms':>9} {'max ms':>7} {'queries':>7}"
        )
        medians = []
        for days in AS_OF_DAYS_AGO:
            moment = now - timedelta(days=days)
            timings, rows, queries, _ = self._time(repeat, lambda m=moment: list(forecast(m)))
            medians.append(statistics.median(timings))
            weighted = sum(row["weighted"] for row in rows)
            self.stdout.write(
                f"{moment:%Y-%m-%d}   {sum(row['count'] for row in rows):>7,} "
                f"{weighted:>15,.0f} {len(rows):>6} {medians[-1]:>9.0f} {max(timings):>7.0f} "
                f"{queries:>7}"
            )
        self.stdout.write(f"Overall median: {statistics.median(medians):.0f} ms (budget 150 ms).")

        since = now - timedelta(days=14)
        for user in (manager, admin):
            timings, changes, queries, _ = self._time(
                repeat, lambda u=user: changes_between(u, since, now)
            )
            self.stdout.write(
                f"changes_between({user.username}, two weeks ago, now): {len(changes):,} "
                f"changes, median {statistics.median(timings):.0f} ms, max "
                f"{max(timings):.0f} ms, {queries} queries"
            )
        periods = ProjectState.objects.filter(period__startswith__gte=since).count()
        self.stdout.write(f"({periods:,} ledger periods began in those two weeks.)")

    def _time(self, repeat: int, read) -> tuple[list[float], object, int, float]:
        """Run `read` `repeat` times: the timings in ms, the last result, its query count,
        and the time spent in SQL in all runs, in ms."""
        timings, sql_ms = [], 0.0
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = read()
                timings.append((time.perf_counter() - started) * 1000)
            sql_ms += sum(float(query["time"]) for query in queries.captured_queries) * 1000
        return timings, result, len(queries), sql_ms


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise CommandError(f"{url} answered {response.status_code}")


def _rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
