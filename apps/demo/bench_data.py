"""The generated history behind `make bench`: for each customer project, a realistic path
through its pipeline over the last two years, as rows for the project, its state ledger and
its stage transitions.

Pure Python with one seeded `random.Random`, so the data is the same on every machine. It
tells each project's story as the lifecycle services would write it (opened, moved forward
with skips, moved back, stopped with a reason, reopened, won; value, individual %, close-date
and owner edits in between), and one admin change of a stage default in the past. It does not
compute effective percentages: the ledger's generated column does (the one SQL rule), and
the bench command derives the transitions' from it.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apps.pipeline.models import Stage

DAY = 86_400
HISTORY_DAYS = 730

# Chance, at each step of an open project, of being stopped in the stage it is in, and of
# being won from it (beyond moving forward out of the last open stage, which wins it).
STOP_CHANCE = {
    "Raw lead": 0.10,
    "Marketing": 0.10,
    "Qualification": 0.13,
    "Solution design": 0.10,
    "Decision": 0.11,
    "Negotiation": 0.12,
}
WIN_CHANCE = {"Decision": 0.02, "Negotiation": 0.06}
BACK_CHANCE = 0.44  # a step back (two with BACK_TWO_CHANCE), from any stage but the first
BACK_TWO_CHANCE = 0.25
SKIP_CHANCE = 0.12  # a step forward skips a stage
# A stopped project is reopened (in the stage it was stopped in) with this chance, by how
# often it has been stopped already.
REOPEN_CHANCE = (0.65, 0.5, 0.35)
MEAN_DAYS_IN_STAGE = 12
MEAN_DAYS_STOPPED = 60
# Per step of an open project, the chance of an edit of each tracked fact before the move.
VALUE_EDIT_CHANCE = 0.09
INDIVIDUAL_EDIT_CHANCE = 0.06
OWNER_EDIT_CHANCE = 0.006
# A rep pushes a close date that has passed (the rest stay overdue).
PUSH_CHANCE = 0.85
ADMIN_ACTS_CHANCE = 0.08  # a change made by the admin rather than the owner
STOP_NOTES = ["", "", "", "Budget frozen until next year.", "Went with the incumbent."]

QUALIFICATION = (
    "Spreadsheets and a legacy system.",
    "One live system.",
    "IT evaluates, CFO signs.",
)


@dataclass(frozen=True)
class BenchPipeline:
    pk: int
    stages: tuple[Stage, ...]  # by order, the won stage last; their defaults today's

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return self.stages[:-1]

    @property
    def won_stage(self) -> Stage:
        return self.stages[-1]

    @property
    def qualification_order(self) -> int:
        """Entering Qualification or a later stage needs the qualification fields."""
        return next(stage.order for stage in self.stages if stage.name == "Qualification")


@dataclass(frozen=True)
class Reweighting:
    """An admin's change of stage defaults in the past: before `at` (epoch seconds) the
    stages in `stage_pks` had the default `before`; since then, the stage's own (today's).
    As the admin's save does (services.record_stage_changes), each open project then in such
    a stage begins a period at `at` with the new default; a period records the default of
    the moment it began."""

    stage_pks: frozenset[int]
    at: int
    before: int

    def default_at(self, stage: Stage, moment: int) -> int:
        if stage.pk in self.stage_pks and moment < self.at:
            return self.before
        return stage.default_probability


@dataclass
class Account:
    pk: int
    owner: int
    pipeline: BenchPipeline


@dataclass
class Batch:
    """Rows ready to COPY: projects, ledger periods, and each transition's facts that the
    ledger does not hold. A transition is a number within the batch (in the periods' last
    column and the transitions' first) until the caller gives it an id."""

    projects: list[tuple] = field(default_factory=list)
    periods: list[tuple] = field(default_factory=list)
    transitions: list[tuple] = field(default_factory=list)
    edits: int = 0
    splits: int = 0


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def day(seconds: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + seconds // DAY)


class HistoryGenerator:
    """Tells project histories. `now` and the reweighting's moment are epoch seconds."""

    def __init__(
        self,
        rng: random.Random,
        *,
        now: int,
        reps: list[int],
        admin: int,
        reasons: list[int],
        reweighting: Reweighting,
    ):
        self.rng = rng
        self.now = now
        self.reps = reps
        self.admin = admin
        self.reasons = reasons
        self.reweighting = reweighting

    def add_project(
        self, batch: Batch, *, number: int, pk: int, account: Account, transition_numbers
    ) -> None:
        """Append project `pk`'s row, periods and transitions to `batch`. Transitions are
        numbered from the `transition_numbers` iterator (the caller maps them to ids)."""
        rng = self.rng
        pipeline = account.pipeline
        open_stages = pipeline.open_stages
        # Recent months hold more new projects than two years ago (the business grows).
        created = self.now - int(HISTORY_DAYS * DAY * rng.random() ** 1.4) - DAY
        position = 0
        if len(open_stages) > 3:  # acquisition: some leads come in already marketed
            position = rng.choices((0, 1, 2), weights=(70, 20, 10))[0]
        facts = {
            "stage": open_stages[position],
            "status": "open",
            "value": max(1_000, round(math.exp(rng.gauss(math.log(40_000), 1.0)) / 500) * 500),
            "close": day(created + rng.randint(60, 240) * DAY),
            "individual": rng.choice((None, None, None, 10, 25, 50, 70)),
            "owner": account.owner if rng.random() < 0.9 else rng.choice(self.reps),
        }
        # (at, facts, user, the transition's extras, or None for an edit, or "split")
        events = []
        entered = created
        qualified = facts["stage"].order >= pipeline.qualification_order

        def record(at: int, extras: tuple | None, user: int | None = None) -> None:
            if user is None:
                user = self.admin if rng.random() < ADMIN_ACTS_CHANCE else facts["owner"]
            events.append((at, dict(facts), user, extras))

        def transition(at: int, stage: Stage, status: str, stop=("", None, "")) -> None:
            nonlocal entered, qualified
            previous_entered = entered
            if stage is not facts["stage"]:
                entered = at
            facts["stage"], facts["status"] = stage, status
            qualified = qualified or stage.order >= pipeline.qualification_order
            record(at, (previous_entered, *stop))

        record(created, (None, "", None, ""))
        at = created
        stops = 0
        while True:
            if facts["status"] == "open":
                gap = rng.expovariate(1 / (MEAN_DAYS_IN_STAGE * DAY))
            elif facts["status"] == "stopped" and rng.random() < REOPEN_CHANCE[min(stops, 3) - 1]:
                gap = rng.expovariate(1 / (MEAN_DAYS_STOPPED * DAY))
            else:
                break
            following = at + max(int(gap), 3_600)
            if following >= self.now:
                break
            if facts["status"] == "open":
                self._edits(batch, facts, at, following, record)
            at = following
            stage = facts["stage"]
            if facts["status"] == "stopped":
                transition(at, stage, "open")
                continue
            index = open_stages.index(stage)
            draw = rng.random()
            stop_chance = STOP_CHANCE[stage.name]
            win_chance = stop_chance + WIN_CHANCE.get(stage.name, 0)
            back_chance = win_chance + (BACK_CHANCE if index else 0)
            if draw < stop_chance:
                stops += 1
                stop = (
                    rng.choice(("us", "customer", "customer")),
                    rng.choice(self.reasons),
                    rng.choice(STOP_NOTES),
                )
                transition(at, stage, "stopped", stop)
            elif draw < win_chance or (draw >= back_chance and index == len(open_stages) - 1):
                facts["close"] = day(at)  # a win is booked on its day (DOMAIN.md, "Won day")
                transition(at, pipeline.won_stage, "won")
            elif draw < back_chance:
                steps = 2 if index > 1 and rng.random() < BACK_TWO_CHANCE else 1
                transition(at, open_stages[index - steps], "open")
            else:
                skip = 2 if index + 2 < len(open_stages) and rng.random() < SKIP_CHANCE else 1
                transition(at, open_stages[index + skip], "open")
        if facts["status"] == "open":
            # The rep pushes a close date that passed while the project sat in its stage.
            self._edits(batch, facts, at, self.now, record, only_push=True)
        self._split_at_reweighting(batch, events)
        self._append(batch, number, pk, account, events, entered, qualified, transition_numbers)

    def _edits(self, batch, facts, after, before, record, only_push=False) -> None:
        """Edits of an open project between two of its transitions (at `after`, `before`)."""
        rng = self.rng
        if before - after < 600:
            return
        edits = []
        if facts["close"] < day(before) and rng.random() < PUSH_CHANCE:
            edits.append("close")
        if not only_push:
            if rng.random() < VALUE_EDIT_CHANCE:
                edits.append("value")
            if rng.random() < INDIVIDUAL_EDIT_CHANCE:
                edits.append("individual")
            if rng.random() < OWNER_EDIT_CHANCE:
                edits.append("owner")
        moments = sorted(rng.randint(after + 60, before - 60) for _ in edits)
        last = after
        for name, at in zip(rng.sample(edits, len(edits)), moments, strict=True):
            at = max(at, last + 1)
            if at >= before:
                break
            last = at
            if name == "close":
                passed = max(facts["close"], day(at))
                facts["close"] = passed + timedelta(days=rng.randint(30, 120))
            elif name == "value":
                facts["value"] = max(
                    1_000, round(facts["value"] * rng.uniform(0.6, 1.5) / 500) * 500
                )
            elif name == "individual":
                facts["individual"] = rng.choice((None, 10, 20, 30, 40, 50, 60, 70, 80, 90))
            else:
                facts["owner"] = rng.choice(self.reps)
            record(at, None)
            batch.edits += 1

    def _split_at_reweighting(self, batch, events) -> None:
        """Begin a period at the reweighting (by the admin, with no transition) if the
        project was then open in a reweighted stage."""
        split = self.reweighting.at
        for index, (at, facts, _user, _extras) in enumerate(events):
            following = events[index + 1][0] if index + 1 < len(events) else None
            if at < split and (following is None or following > split):
                if facts["stage"].pk in self.reweighting.stage_pks and facts["status"] == "open":
                    events.insert(index + 1, (split, facts, self.admin, "split"))
                    batch.splits += 1
                return

    def _append(self, batch, number, pk, account, events, entered, qualified, numbers) -> None:
        rng = self.rng
        last_change = None
        for index, (at, facts, user, extras) in enumerate(events):
            following = events[index + 1][0] if index + 1 < len(events) else None
            began = moment(at)
            transition_number = None
            if isinstance(extras, tuple):
                transition_number = next(numbers)
                previous_entered, ended_by, reason, note = extras
                batch.transitions.append(
                    (
                        transition_number,
                        None if previous_entered is None else moment(previous_entered),
                        ended_by,
                        reason,
                        note,
                    )
                )
            if extras != "split":
                last_change = (began, user)
            stage = facts["stage"]
            upper = "" if following is None else moment(following).isoformat()
            batch.periods.append(
                (
                    pk,
                    f"[{began.isoformat()},{upper})",
                    facts["owner"],
                    account.pipeline.pk,
                    stage.pk,
                    stage.order,
                    self.reweighting.default_at(stage, at),
                    facts["status"],
                    facts["value"],
                    facts["close"],
                    facts["individual"],
                    user,
                    transition_number,
                )
            )
        facts = events[-1][1]
        # The last write (for a won or stopped project, the closing transition: no edits
        # follow it, and a split is no write).
        updated_at, updated_by = last_change
        is_open = facts["status"] == "open"
        qualification = QUALIFICATION if qualified else ("", "", "")
        next_step, next_step_date = "", None
        if is_open and rng.random() < 0.7:
            next_step = "Call to agree the next meeting"
            next_step_date = day(self.now + rng.randint(-14, 21) * DAY)
        batch.projects.append(
            (
                pk,
                account.pk,
                f"Bench project {number}",
                facts["owner"],
                account.pipeline.pk,
                facts["stage"].pk,
                facts["status"],
                facts["value"],
                facts["close"],
                facts["individual"],
                *qualification,
                next_step,
                next_step_date,
                moment(events[0][0]),
                updated_at,
                updated_by,
                moment(entered),
                None if is_open else updated_at,
                # Every write after the opening raised the version (the split is no write).
                sum(1 for event in events if event[3] != "split"),
            )
        )
