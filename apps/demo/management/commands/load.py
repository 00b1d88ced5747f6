"""`make load`: the app under load as in production, and a check that no update was lost.

It serves the app with gunicorn (2 × cores + 1 workers, DEBUG off) on loopback, and runs the
load generator (apps/demo/load_client.py) as a second process, once per number of users
(LOAD_USERS, default "20 50"), for LOAD_SECONDS (default 60) each: virtual users who log in
and loop over the board, the project list or the forecast, a project's page, a move and an
edit, with no think time (a closed loop: each user waits for its answer, so the load is
bounded by the users). Then it stops gunicorn and checks the database (apps/demo/
load_checks.py): the confirmed moves against the transitions written, the confirmed edits
against the projects and the ledger, and the bench's invariants. It exits non-zero when an
update was lost, an invariant broken, or a request failed (a 5xx, a connection error, an
unexpected status).

`make load` runs it on a fresh copy of the bench database (`--copy-to pipeline_crm_load`);
with LOAD_DATABASE_URL, on that database as it is. The database is written to: the chosen
users get a random password for the run.
"""

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection
from django.db.models import Exists, OuterRef, Q

from apps.demo import load_checks
from apps.pipeline.models import Pipeline
from apps.projects.models import CustomerProject
from apps.users.models import Team, User
from apps.users.roles import Role, role_of

KINDS = ["board", "list", "forecast", "detail", "move", "edit form", "edit"]
REFUSALS = ("conflict", "needs fields", "refused")
OVERSEERS = 5  # one session in five is a manager's or an admin's
COPY_WAIT = 900  # seconds to wait for other sessions to leave the bench database


class Command(BaseCommand):
    help = "Serve the app with gunicorn, load it with 20 and 50 users, check no update was lost."

    def add_arguments(self, parser):
        parser.add_argument(
            "--copy-to",
            metavar="NAME",
            help="Copy the database (the bench's) to NAME first and load the copy.",
        )
        parser.add_argument("--seconds", type=int, default=int(os.environ.get("LOAD_SECONDS", 60)))
        parser.add_argument("--users", default=os.environ.get("LOAD_USERS", "20 50"))

    def handle(self, *args, copy_to, seconds, users, **options):
        steps = [int(count) for count in users.split()]
        database_url = os.environ.get("DATABASE_URL", "")
        if copy_to:
            database_url = self._copy(copy_to, database_url)
        elif "load" not in connection.settings_dict["NAME"]:
            # It resets its users' passwords and moves and edits their projects.
            raise CommandError(
                "The load writes to its database: load a copy of the bench database "
                "(--copy-to pipeline_crm_load, as `make load` does), or a database whose "
                "name says it is for loading (…load…), never one in use."
            )
        if not database_url:
            raise CommandError("Set DATABASE_URL to the database to load (`make load` does).")

        cast, password = self._people(max(steps))
        pipelines = list(
            Pipeline.objects.filter(is_default=True, stages__isnull=False)
            .distinct()
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        baseline = load_checks.take_baseline()
        connection.close()  # gunicorn's workers and the checks use their own

        workers = 2 * len(os.sched_getaffinity(0)) + 1
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="pipeline-load-")) / "gunicorn.log"
        self.stdout.write(
            f"gunicorn: {workers} workers on 127.0.0.1:{port} (DEBUG off), database "
            f"{connection.settings_dict['NAME']}; its log: {log}"
        )
        named = [f"{user.username} ({role.label if role else 'no role'})" for user, role in cast]
        self.stdout.write(
            f"People ({len(cast)}): {', '.join(named[:6])}{', ...' if len(cast) > 6 else ''}; "
            f"pipelines {pipelines}."
        )
        server = start_gunicorn(database_url, workers, port, log)
        results = []
        try:
            wait_for_health(server, port, log)
            for count in steps:
                spec = {
                    "base_url": f"http://127.0.0.1:{port}",
                    "seconds": seconds,
                    "pipelines": pipelines,
                    "users": self._sessions(cast, password, count),
                    "seed": count,
                }
                following = sum(1 for session in spec["users"] if session["watches"])
                self.stdout.write(
                    f"\n{count} users ({following} of them a manager's or admin's session "
                    f"following one rep), {seconds} s ..."
                )
                result = run_client(spec)
                results.append(result)
                self.stdout.write(format_step(result))
        finally:
            stop(server)
        self._report_log(log)

        moves = [move for result in results for move in result["moves"]]
        edits = [edit for result in results for edit in result["edits"]]
        self.stdout.write("\nChecks (rows breaking each; all should be 0):")
        started = time.perf_counter()
        written, findings = load_checks.check_moves(baseline, moves)
        findings += load_checks.check_edits(baseline, moves, edits)
        findings += load_checks.check_invariants()
        self.stdout.write(
            f"  Moves confirmed: {len(moves):,}; transitions written during the run: {written:,}."
        )
        self.stdout.write(f"  Edits confirmed: {len(edits):,}.")
        for finding in findings:
            figure = "skipped" if finding.skipped else f"{finding.count:,}"
            note = f" ({finding.skipped})" if finding.skipped else ""
            self.stdout.write(f"  {figure:>7}  {finding.name}{note}")
            for example in finding.examples:
                self.stdout.write(f"             e.g. {example}")
        self.stdout.write(f"  (checked in {time.perf_counter() - started:.0f} s)")
        errors = sum(result["errors"] for result in results)
        broken = sum(finding.count for finding in findings)
        if broken:
            raise CommandError(f"Lost updates or broken invariants: {broken:,} rows (above).")
        self.stdout.write(self.style.SUCCESS("0 lost updates."))
        if errors:
            raise CommandError(f"{errors:,} requests failed under load (above; see {log}).")

    def _copy(self, target: str, database_url: str) -> str:
        """Make `target` a fresh copy of the configured database (the bench's); point this
        process at it and return its URL. CREATE DATABASE ... TEMPLATE needs the source to
        have no other session: wait for them to end (never end them)."""
        source = connection.settings_dict["NAME"]
        if target == source or "load" not in target:
            # The copy replaces `target` (DROP DATABASE): only a database made for loading.
            raise CommandError(
                f"Copy the bench database to a database of its own whose name says it is for "
                f"loading (pipeline_crm_load), not {target}."
            )
        connection.close()
        deadline = time.monotonic() + COPY_WAIT
        said = 0.0
        with connection._nodb_cursor() as cursor:
            while True:
                cursor.execute(
                    "SELECT datname, count(*), string_agg(DISTINCT coalesce(nullif("
                    "application_name, ''), client_addr::text, 'local') || ' ' || state, ', ') "
                    "FROM pg_stat_activity WHERE datname IN (%s, %s) "
                    # Autovacuum gives way to CREATE DATABASE by itself.
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "GROUP BY datname",
                    [source, target],
                )
                busy = cursor.fetchall()
                if not busy:
                    try:
                        started = time.perf_counter()
                        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
                        cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
                    except OperationalError as error:  # a session came in meanwhile
                        busy = [(source, 1, str(error).strip())]
                    else:
                        self.stdout.write(
                            f"Copied {source} to {target} in {time.perf_counter() - started:.0f} s."
                        )
                        break
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"Other sessions still use {', '.join(row[0] for row in busy)} after "
                        f"{COPY_WAIT} s, so it cannot be copied: let them finish (`make bench`?) "
                        "and run `make load` again."
                    )
                if time.monotonic() - said > 30:
                    said = time.monotonic()
                    for name, count, who in busy:
                        self.stdout.write(
                            f"Waiting for {count} other session(s) on {name} to end ({who}): "
                            f"copying needs it to be unused. Retrying every 5 s, up to "
                            f"{COPY_WAIT // 60} minutes."
                        )
                time.sleep(5)
        connection.settings_dict["NAME"] = target
        return urlsplit(database_url)._replace(path=f"/{target}").geturl()

    def _people(self, count: int) -> tuple[list[tuple[User, Role]], str]:
        """Up to `count` people with their roles: an admin, each team's manager and members,
        then other reps; every rep with open projects. They get a random password."""
        has_open = Exists(CustomerProject.objects.open().filter(owner=OuterRef("pk")))
        people: list[User] = []
        admin = (
            User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN), is_active=True)
            .order_by("-is_superuser", "pk")
            .first()
        )
        if admin:
            people.append(admin)
        teams = Team.objects.filter(manager__is_active=True).select_related("manager")
        for team in teams.order_by("pk"):
            members = team.members.filter(has_open, is_active=True).order_by("pk")
            people += [team.manager, *members[:count]]
        reps = User.objects.filter(has_open, groups__name=Role.REP, is_active=True)
        people += list(reps.order_by("pk")[: count * 2])
        people = list(dict.fromkeys(people))[:count]
        cast = [(user, role_of(user)) for user in people]
        if not any(role == Role.REP for _, role in cast):
            raise CommandError("No reps with open projects to load the app with.")
        password = secrets.token_urlsafe(16)
        # One hash for all: hashing is what makes a login slow, on purpose.
        User.objects.filter(pk__in=[user.pk for user in people]).update(
            password=make_password(password)
        )
        return cast, password

    def _sessions(self, cast, password: str, count: int) -> list[dict]:
        """`count` virtual users: one in OVERSEERS an admin's or a manager's session, each
        following one rep of the others (the rep they review this minute: they open that
        rep's board and act on its cards, so both sometimes change the same project); the
        rest reps on their own boards. A person may have several sessions (browsers) when
        there are fewer people than users."""
        reps = [user for user, role in cast if role == Role.REP]
        overseers = [(user, role) for user, role in cast if role in (Role.ADMIN, Role.MANAGER)]
        watching = max(1, count // OVERSEERS) if overseers and count > 1 else 0
        rep_sessions = [reps[index % len(reps)] for index in range(count - watching)]
        sessions = [
            {"username": user.username, "role": Role.REP.label, "watches": []}
            for user in rep_sessions
        ]
        followed = Counter()
        for index in range(watching):
            user, role = overseers[index % len(overseers)]
            seen = {rep.pk for rep in rep_sessions}
            if role == Role.MANAGER:
                seen &= set(
                    Team.members.through.objects.filter(team__manager=user).values_list(
                        "user_id", flat=True
                    )
                )
            if not seen:
                continue
            # The rep followed by the fewest overseers so far (the first such in the cast).
            rep = min(
                (rep.pk for rep in rep_sessions if rep.pk in seen),
                key=lambda pk: followed[pk],
            )
            followed[rep] += 1
            sessions.insert(
                index * OVERSEERS,
                {"username": user.username, "role": role.label, "watches": [rep]},
            )
        return [
            session | {"index": index, "password": password}
            for index, session in enumerate(sessions)
        ]

    def _report_log(self, log: Path) -> None:
        text = log.read_text(errors="replace") if log.exists() else ""
        tracebacks = text.count("Traceback (most recent call last)")
        if tracebacks:
            self.stdout.write(
                self.style.ERROR(f"gunicorn's log holds {tracebacks} traceback(s): {log}")
            )


def free_port() -> int:
    """A port on loopback nobody listens on (the system's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(database_url: str, workers: int, port: int, log: Path) -> subprocess.Popen:
    """gunicorn with production's settings, but over plain HTTP on loopback."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Secure cookies would not come back over http://; everything else as deployed.
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "pipeline_crm.wsgi:application",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=120",
        "--graceful-timeout=10",
        "--no-control-socket",  # not needed, and another gunicorn may have the default one
    ]
    with log.open("w") as output:
        return subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=environment, stdout=output, stderr=output
        )


def wait_for_health(server: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(f"gunicorn stopped at its start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise CommandError(f"gunicorn did not answer /healthz in {timeout:.0f} s; see {log}.")


def stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn this command started (its master; it stops its workers)."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_client(spec: dict) -> dict:
    """Run the load generator in its own process; its figures, summed up for the table."""
    answer = subprocess.run(
        [sys.executable, "-m", "apps.demo.load_client"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=spec["seconds"] + 900,
    )
    if answer.returncode != 0:
        raise CommandError(f"The load generator failed:\n{answer.stderr[-3000:]}")
    result = json.loads(answer.stdout)
    result["errors"] = sum(1 for _, outcome, _ in result["requests"] if outcome == "error")
    result["errors"] += result["login_errors"]
    return result


def format_step(result: dict) -> str:
    """The step's table: per kind of request, how many, how they ended, how long they took."""
    requests, elapsed = result["requests"], result["seconds"]
    outcomes = Counter(outcome for _, outcome, _ in requests)
    conflicts = outcomes["conflict"]
    lines = [
        f"{result['logged_in']} of {result['users']} users logged in "
        f"({result['login_seconds']:.0f} s, not timed below); closed loop, no think time.",
        f"{len(requests):,} requests in {elapsed:.1f} s: {len(requests) / elapsed:.1f} req/s, "
        f"{result['errors']} errors, {conflicts} conflicts.",
        f"  {'request':<10} {'count':>6} {'req/s':>6} {'errors':>6} {'median ms':>9} "
        f"{'p95 ms':>7}  outcomes",
    ]
    for kind in KINDS:
        rows = [(outcome, ms) for got, outcome, ms in requests if got == kind]
        if not rows:
            continue
        times = [ms for _, ms in rows]
        counted = Counter(outcome for outcome, _ in rows)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else 0
        said = ", ".join(
            f"{counted[name]} {name}" for name in ("moved", "saved", *REFUSALS) if counted[name]
        )
        lines.append(
            f"  {kind:<10} {len(rows):>6,} {len(rows) / elapsed:>6.1f} {counted['error']:>6} "
            f"{statistics.median(times):>9.0f} {p95:>7.0f}  {said}"
        )
    if result["statuses"]:
        lines.append(f"  Unexpected statuses: {result['statuses']}")
    for name, examples in result["samples"].items():
        lines.append(f"  {name} (e.g.):")
        lines += [f"    {example}" for example in examples]
    return "\n".join(lines)
