"""Writes to accounts and contacts. Each runs in one transaction and records who made it."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.accounts.models import Account, Contact
from apps.users.models import User

ACCOUNT_FIELDS = ["name", "website", "industry", "owner", "relationship_level", "notes"]
CONTACT_FIELDS = ["name", "job_title", "email", "phone", "notes", "is_primary"]


class AccountError(Exception):
    """A write to an account or contact that the rules refuse; the message is for the user."""


class DuplicateAccountName(AccountError):
    pass


class AccountInUse(AccountError):
    pass


@transaction.atomic
def create_account(*, user: User, data: dict) -> Account:
    """Create an account from cleaned form data; history records `user` as its author."""
    account = Account(**{field: data[field] for field in ACCOUNT_FIELDS if field in data})
    account.owner = data.get("owner") or user
    _save_account(account, user=user)
    return account


@transaction.atomic
def update_account(*, account: Account, user: User, data: dict) -> Account:
    """Change an account's facts (a level change is kept in its history with `user`)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    for field in ACCOUNT_FIELDS:
        if field in data:
            setattr(account, field, data[field])
    _save_account(account, user=user)
    return account


@transaction.atomic
def set_relationship_level(*, account: Account, level: int, user: User) -> Account:
    """Move the account to another rung of the relationship ladder."""
    return update_account(account=account, user=user, data={"relationship_level": level})


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


def _save_account(account: Account, *, user: User) -> None:
    account.full_clean(validate_constraints=False)
    account._history_user = user
    try:
        # A savepoint, so a duplicate name found by the database leaves the transaction usable.
        with transaction.atomic():
            account.save()
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
    Account.objects.select_for_update().get(pk=account.pk)
    contact = Contact(account=account, **{f: data[f] for f in CONTACT_FIELDS if f in data})
    if not account.contacts.filter(is_primary=True).exists():
        contact.is_primary = True
    _save_contact(contact)
    return contact


@transaction.atomic
def update_contact(*, contact: Contact, user: User, data: dict) -> Contact:
    """Change a contact; making it primary takes that role from the account's other contact."""
    Account.objects.select_for_update().get(pk=contact.account_id)
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
