"""What `make load` checks after the load: that no update was lost.

- Every move the server confirmed wrote exactly one stage transition, and the run wrote no
  other: the confirmed moves and the transitions written since the baseline are the same
  multiset of (project, stage).
- Every value edit the server confirmed began exactly one ledger period without a
  transition, and no other such period began.
- Each project's value and next step are those of the last confirmed write that set them
  (writes to one project are serialized by its version, so the last is the one that saw the
  highest version; an edit sends every field, so it sets the ones it did not change too).
- The invariants of the bench (bench.CHECKS): every project's stage and status are its last
  transition's, its row is its current ledger period, the ledger has no gaps, ...
- The counts the analytics read, added to by every move at once, are what the history says
  (`counts.differences`): no addition lost or made twice.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from apps.demo.management.commands.bench import invariants
from apps.pipeline import counts

EXAMPLES = 5


@dataclass(frozen=True)
class Baseline:
    """The last history rows before the run: what comes after was written by it."""

    transition_id: int
    period_id: int


@dataclass
class Finding:
    """One check: how many rows break it (0: it holds), with a few of them."""

    name: str
    count: int
    examples: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def holds(self) -> bool:
        return self.count == 0


def take_baseline() -> Baseline:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM pipeline_stagetransition), "
            "(SELECT coalesce(max(id), 0) FROM pipeline_projectstate)"
        )
        return Baseline(*cursor.fetchone())


def check_moves(baseline: Baseline, moves: list[dict]) -> tuple[int, list[Finding]]:
    """The transitions written since `baseline` against the confirmed `moves` (each with its
    project and to_stage): their number, and the findings."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT project_id, to_stage_id, from_status, to_status "
            "FROM pipeline_stagetransition WHERE id > %s ORDER BY id",
            [baseline.transition_id],
        )
        written = cursor.fetchall()
    confirmed = Counter((move["project"], move["to_stage"]) for move in moves)
    moved = Counter((project, stage) for project, stage, *_ in written)
    missing, extra = confirmed - moved, moved - confirmed
    not_moves = [row for row in written if row[2:] != ("open", "open")]
    return len(written), [
        Finding(
            "confirmed moves without their transition (lost)",
            sum(missing.values()),
            [f"project {project} to stage {stage}" for project, stage in list(missing)[:EXAMPLES]],
        ),
        Finding(
            "transitions written during the run that no confirmed move made",
            sum(extra.values()),
            [f"project {project} to stage {stage}" for project, stage in list(extra)[:EXAMPLES]],
        ),
        Finding(
            "transitions written during the run that are not moves of an open project",
            len(not_moves),
            [f"project {row[0]}: {row[2]} -> {row[3]}" for row in not_moves[:EXAMPLES]],
        ),
    ]


def last_writes(moves: list[dict], edits: list[dict]) -> dict[tuple[int, str], str]:
    """(project, field) -> the value the last confirmed write of that field set, for the
    value and the next step. The last write is the one that saw the highest version: each
    saved write raised it, and a write that saw an older one was refused."""
    writes = [edit | {"fields": ("value", "next_step")} for edit in edits]
    writes += [
        move | {"fields": tuple(name for name in ("value", "next_step") if name in move)}
        for move in moves
    ]
    last: dict[tuple[int, str], tuple[int, str]] = {}
    for write in writes:
        for name in write["fields"]:
            key = (write["project"], name)
            if key not in last or write["version"] > last[key][0]:
                last[key] = (write["version"], write[name])
    return {key: value for key, (_, value) in last.items()}


def check_edits(baseline: Baseline, moves: list[dict], edits: list[dict]) -> list[Finding]:
    """The projects' values and next steps against the last confirmed writes, and the ledger
    periods without a transition against the confirmed value edits."""
    expected = last_writes(moves, edits)
    projects = sorted({project for project, _ in expected})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, value, next_step FROM projects_customerproject WHERE id = ANY(%s)",
            [projects],
        )
        stored = {pk: {"value": value, "next_step": step} for pk, value, step in cursor}
        cursor.execute(
            "SELECT count(*) FROM pipeline_projectstate WHERE id > %s AND transition_id IS NULL",
            [baseline.period_id],
        )
        periods = cursor.fetchone()[0]
    differing = []
    for (project, name), value in sorted(expected.items()):
        now = stored.get(project, {}).get(name)
        same = Decimal(value or 0) == now if name == "value" else value.strip() == now
        if not same:
            differing.append(f"project {project}: {name} is {now!r}, last saved {value!r}")
    value_edits = sum(1 for edit in edits if edit["changed"] == "value")
    return [
        Finding(
            "values or next steps other than the last confirmed write's (lost)",
            len(differing),
            differing[:EXAMPLES],
        ),
        Finding(
            f"ledger periods begun by edits ({periods:,}) other than confirmed value edits "
            f"({value_edits:,})",
            abs(periods - value_edits),
        ),
    ]


def check_invariants() -> list[Finding]:
    """bench.CHECKS over the whole database: the rows breaking each; and the counts the
    writers added to at once, against the history (`counts.differences`)."""
    return [
        Finding(name, count or 0, skipped="" if count is not None else "no bench reweighting here")
        for name, count in invariants()[1].items()
    ] + [
        Finding(f"rows of {name} that differ from the history", differing)
        for name, differing in counts.differences().items()
    ]
