"""Writes to accounts and contacts. Each runs in one transaction and records who made it."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from apps.accounts.models import Account, Contact, RelationshipLevel
from apps.users.models import User
from apps.users.roles import assignable_owners, may_assign_owners
from pipeline_crm.errors import DomainError

ACCOUNT_FIELDS = ["name", "website", "industry", "owner", "relationship_level", "notes"]
CONTACT_FIELDS = ["name", "job_title", "email", "phone", "notes", "is_primary"]


class AccountError(DomainError):
    """A write to an account or contact that the rules refuse; the message is for the user."""


class DuplicateAccountName(AccountError):
    pass


class AccountInUse(AccountError):
    pass


class OwnerNotAllowed(AccountError):
    """The account would go to someone the user may not hand work to."""


class StaleAccount(AccountError):
    """Someone else changed the account since the caller loaded it."""

    def __init__(self, account: Account):
        self.account = account
        latest = account.history.select_related("history_user").latest("history_id")
        when = timezone.localtime(latest.history_date).strftime("%d %b %Y %H:%M")
        super().__init__(
            f"{account.name} was changed by {latest.history_user or 'someone'} meanwhile "
            f"({when}). Nothing was overwritten; here is the current state."
        )


@transaction.atomic
def create_account(*, user: User, data: dict) -> Account:
    """Create an account from cleaned form data, owned by `data["owner"]` (by default `user`,
    who may only choose an owner they may hand work to); history records `user` as its author."""
    account = Account(**{field: data[field] for field in ACCOUNT_FIELDS if field in data})
    account.owner = data.get("owner") or user
    _check_owner(account.owner, user=user)
    _save_account(account, user=user)
    return account


@transaction.atomic
def update_account(*, account: Account, user: User, seen_version: int, data: dict) -> Account:
    """Change an account's facts from a form that showed `seen_version`: refused if someone
    changed the account since; writes only the fields whose value differs (a level change is
    kept in its history with `user`)."""
    # The account row alone: a join would make PostgreSQL re-check a concurrently updated row
    # against stale joined rows.
    account = Account.objects.select_for_update(no_key=True).get(pk=account.pk)
    if account.version != seen_version:
        raise StaleAccount(account)
    changed = [
        field for field in ACCOUNT_FIELDS if field in data and _differs(account, field, data[field])
    ]
    if not changed:
        return account
    if "owner" in changed:
        _check_owner(data["owner"], user=user)
    for field in changed:
        setattr(account, field, data[field])
    account.version += 1
    # Only what is written is validated: a field stored before a rule existed does not block
    # an unrelated change.
    unchanged = [field.name for field in Account._meta.fields if field.name not in changed]
    _save_account(
        account, user=user, exclude=unchanged, update_fields=[*changed, "version", "updated_at"]
    )
    return account


@transaction.atomic
def raise_relationship_level(*, account: Account, level: int, user: User) -> Account:
    """Raise the account to `level` on the ladder; an account already there or higher stays
    where it is (nothing written), so a raise never lowers a level someone else set."""
    level = RelationshipLevel(level)
    account = Account.objects.select_for_update(no_key=True).get(pk=account.pk)
    if account.relationship_level < level:
        _save_level(account, level, user=user)
    return account


@transaction.atomic
def restore_relationship_level(*, account: Account, level: int, raised_to: int, user: User) -> bool:
    """Put the account back at `level` after an undone raise to `raised_to`: only if it is
    still at `raised_to` (a level someone set since stays). Whether it was put back."""
    account = Account.objects.select_for_update(no_key=True).get(pk=account.pk)
    if account.relationship_level != raised_to:
        return False
    _save_level(account, level, user=user)
    return True


def _save_level(account: Account, level: int, *, user: User) -> None:
    account.relationship_level = RelationshipLevel(level)
    account.version += 1
    account._history_user = user
    # No full_clean(): winning a project must not fail on an unrelated field of the account
    # (a website stored before URLs were validated).
    account.save(update_fields=["relationship_level", "version", "updated_at"])


@transaction.atomic
def delete_account(*, account: Account, user: User) -> None:
    """Delete an account and its contacts; refused while customer projects refer to it."""
    account._history_user = user
    try:
        account.delete()
    except ProtectedError as error:
        raise AccountInUse(
            f"{account.name} has customer projects, so it cannot be deleted. "
            "Its history stays with those projects."
        ) from error


def _check_owner(owner: User, *, user: User) -> None:
    if assignable_owners(user).filter(pk=owner.pk).exists():
        return
    if may_assign_owners(user):
        raise OwnerNotAllowed(
            f"You can hand accounts only to active people whose work you see; {owner} is not one."
        )
    raise OwnerNotAllowed(
        "Your accounts are your own; only a manager can hand one to someone else."
    )


def _differs(account: Account, field: str, value) -> bool:
    if field == "owner":
        # Compared by id, so the check costs no query for the current owner.
        return account.owner_id != getattr(value, "pk", value)
    return getattr(account, field) != value


def _save_account(
    account: Account,
    *,
    user: User,
    exclude: list[str] | None = None,
    update_fields: list[str] | None = None,
) -> None:
    account.full_clean(exclude=exclude, validate_constraints=False)
    account._history_user = user
    try:
        # A savepoint, so a duplicate name found by the database leaves the transaction usable.
        with transaction.atomic():
            account.save(update_fields=update_fields)
    except IntegrityError as error:
        if "accounts_account_name_unique_ci" in str(error):
            raise DuplicateAccountName(
                f"An account named “{account.name}” already exists."
            ) from error
        raise


@transaction.atomic
def create_contact(*, account: Account, user: User, data: dict) -> Contact:
    """Add a contact to an account; a new primary contact takes over from the old one, and an
    account's first contact is its primary one."""
    Account.objects.select_for_update(no_key=True).get(pk=account.pk)
    contact = Contact(account=account, **{f: data[f] for f in CONTACT_FIELDS if f in data})
    if not account.contacts.filter(is_primary=True).exists():
        contact.is_primary = True
    _save_contact(contact)
    return contact


@transaction.atomic
def update_contact(*, contact: Contact, user: User, data: dict) -> Contact:
    """Change a contact; making it primary takes that role from the account's other contact."""
    Account.objects.select_for_update(no_key=True).get(pk=contact.account_id)
    for field in CONTACT_FIELDS:
        if field in data:
            setattr(contact, field, data[field])
    _save_contact(contact)
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact, user: User) -> None:
    """Remove a contact from its account."""
    contact.delete()


def _save_contact(contact: Contact) -> None:
    contact.full_clean(validate_constraints=False)
    if contact.is_primary:
        # The account row is locked by the caller, so no one else is choosing a primary now.
        contact.account.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(
            is_primary=False
        )
    contact.save()
