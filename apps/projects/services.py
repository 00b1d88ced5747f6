"""The rules every write to a customer project shares (the version check, who may own it,
which account a new one goes on), and its notes. Every write its history records (an
opening, a move, an edit of its facts or next step) is made by apps/pipeline/services.py,
which builds on these."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.accounts.selectors import visible_accounts
from apps.projects.models import CustomerProject, ProjectNote
from apps.users.models import User
from apps.users.roles import assignable_owners
from pipeline_crm.errors import DomainError


class ProjectError(DomainError):
    """A write to a project that the rules refuse; the message is for the user."""


class StaleProject(ProjectError):
    """Someone else changed the project since the caller looked at it."""

    def __init__(self, project: CustomerProject):
        self.project = project
        when = timezone.localtime(project.updated_at).strftime("%d %b %Y %H:%M")
        super().__init__(
            f"{project.title} was changed by {project.updated_by or 'someone'} meanwhile "
            f"(now in {project.stage}, {project.get_status_display().lower()}, {when}). "
            "Nothing was overwritten; here is the current state."
        )


class OwnerNotAllowed(ProjectError):
    """The user may not hand the project to that account manager."""


class AccountNotChosen(ProjectError):
    """The account a new project was to go on is not one the user may choose."""


NOT_VISIBLE = (
    "That account is not one you can see, so no project can be opened on it: choose one "
    "from the list."
)


def lock_project(project: CustomerProject, seen_version: int) -> CustomerProject:
    """The project's row, locked for this transaction, if the caller saw its current version;
    otherwise StaleProject."""
    # Lock the project row alone: with joins, PostgreSQL re-checks a concurrently updated
    # row against the old joined rows (the old stage) and the waiting request finds nothing.
    # NO KEY: a note or a transition being added to the project meanwhile need not wait.
    locked = CustomerProject.objects.select_for_update(no_key=True).get(pk=project.pk)
    if locked.version != seen_version:
        raise StaleProject(locked)
    return locked


def check_owner(*, user: User, owner: User) -> None:
    """A rep's projects are their own; a manager or an admin hands one to someone whose work
    they see (`assignable_owners`)."""
    if not assignable_owners(user).filter(pk=owner.pk).exists():
        raise OwnerNotAllowed(
            f"You cannot make {owner} the account manager of a project: you may hand projects "
            "only to people whose work you see."
        )


@dataclass(frozen=True)
class AccountChoice:
    """The account a new project goes on: one the user may see, or a new one to create with
    the project."""

    account: Account | None = None  # None: a new account, named `new_name`
    new_name: str = ""
    note: str = ""  # said with the result: the new account asked for exists, so it is that one


def choose_account(*, user: User, pk: int | None, name: str, create: bool) -> AccountChoice:
    """The account a new project goes on, as the project form gives it: the account `pk`
    picked from the accounts the user may see (unless the name was changed after the pick:
    then `name` decides), else the visible account named `name` (case aside), else, when
    `create`, a new account named `name`. Refused (AccountNotChosen) when the account picked
    or the only one so named is not one the user may see, or no account has the name and
    none is to be created."""
    visible = visible_accounts(user)
    if pk is not None:
        account = visible.filter(pk=pk).first()
        if account is None:
            raise AccountNotChosen(NOT_VISIBLE)
        if not name or name.casefold() == account.name.casefold():
            return AccountChoice(account)
    account = visible.filter(name__iexact=name).first()
    if account is not None:
        exists = f"An account named “{account.name}” already exists, so the project is on it."
        return AccountChoice(account, note=exists if create else "")
    if Account.objects.filter(name__iexact=name).exists():
        raise AccountNotChosen(
            f"An account named “{name}” already exists, but it is not one you can see: "
            "ask its account manager or your manager, or choose another account."
        )
    if create:
        return AccountChoice(new_name=name)
    raise AccountNotChosen(
        f"No account you can see is named “{name}”. Choose one from the list, or tick "
        "“New account” to create it."
    )


@transaction.atomic
def add_note(*, project: CustomerProject, user: User, text: str) -> ProjectNote:
    """Keep a note with the project, signed by `user`."""
    note = ProjectNote(project=project, author=user, text=text.strip())
    note.full_clean()
    note.save()
    return note
