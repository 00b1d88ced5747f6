from datetime import UTC, datetime

import pytest
import time_machine

from apps.accounts import services
from apps.accounts.factories import AccountFactory, ContactFactory
from apps.accounts.models import Account, Contact, RelationshipLevel
from apps.accounts.selectors import level_history


def _account_data(**overrides):
    return {
        "name": "Acme Robotics",
        "website": "https://acme.example",
        "industry": "technology",
        "relationship_level": RelationshipLevel.SUSPECT,
        "notes": "",
    } | overrides


def test_create_account_is_owned_by_its_creator_by_default(rep):
    account = services.create_account(user=rep, data=_account_data())
    assert account.owner == rep
    assert account.history.get().history_user == rep


def test_level_changes_are_recorded_with_user_and_time(rep, manager):
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        account = services.create_account(user=rep, data=_account_data())
    with time_machine.travel(datetime(2026, 5, 4, 14, 30, tzinfo=UTC), tick=False):
        services.set_relationship_level(account=account, level=RelationshipLevel.PROSPECT, user=rep)
    with time_machine.travel(datetime(2026, 6, 1, 8, 0, tzinfo=UTC), tick=False):
        # A change of something else is not a level change.
        services.update_account(account=account, user=manager, data={"notes": "Met at fair"})
    with time_machine.travel(datetime(2026, 9, 9, 10, 0, tzinfo=UTC), tick=False):
        services.set_relationship_level(
            account=account, level=RelationshipLevel.SUSPECT, user=manager
        )

    changes = [
        (c.relationship_level, c.previous_level, c.history_user.username, c.history_date)
        for c in level_history(account)
    ]
    assert changes == [
        (
            RelationshipLevel.SUSPECT,
            RelationshipLevel.PROSPECT,
            "manager",
            datetime(2026, 9, 9, 10, 0, tzinfo=UTC),
        ),
        (
            RelationshipLevel.PROSPECT,
            RelationshipLevel.SUSPECT,
            "rep",
            datetime(2026, 5, 4, 14, 30, tzinfo=UTC),
        ),
        (RelationshipLevel.SUSPECT, None, "rep", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
    ]


def test_duplicate_name_in_another_case_is_refused_by_the_database(rep, other_rep):
    AccountFactory(name="Acme Robotics", owner=other_rep)
    with pytest.raises(services.DuplicateAccountName):
        services.create_account(user=rep, data=_account_data(name="ACME robotics"))
    assert Account.objects.count() == 1


def test_deleting_an_account_without_projects_removes_its_contacts(rep):
    account = AccountFactory(owner=rep)
    account_id = account.pk
    ContactFactory.create_batch(2, account=account)
    services.delete_account(account=account, user=rep)
    assert not Account.objects.exists()
    assert not Contact.objects.exists()
    # The deletion itself is in the account's history.
    assert Account.history.filter(id=account_id, history_type="-").get().history_user == rep


def test_a_new_primary_contact_takes_over(rep):
    account = AccountFactory(owner=rep)
    first = services.create_contact(
        account=account, user=rep, data={"name": "Ann", "is_primary": True}
    )
    second = services.create_contact(
        account=account, user=rep, data={"name": "Bo", "is_primary": True}
    )
    first.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)
    services.update_contact(contact=first, user=rep, data={"is_primary": True})
    second.refresh_from_db()
    assert (second.is_primary, Contact.objects.get(pk=first.pk).is_primary) == (False, True)


def test_an_accounts_first_contact_is_its_primary_contact(rep):
    account = AccountFactory(owner=rep)
    first = services.create_contact(account=account, user=rep, data={"name": "Ann"})
    second = services.create_contact(account=account, user=rep, data={"name": "Bo"})
    assert (first.is_primary, second.is_primary) == (True, False)


def test_bad_contact_email_is_refused_and_nothing_written(rep):
    from django.core.exceptions import ValidationError

    account = AccountFactory(owner=rep)
    with pytest.raises(ValidationError):
        services.create_contact(
            account=account, user=rep, data={"name": "Ann", "email": "not-an-email"}
        )
    assert not Contact.objects.exists()
