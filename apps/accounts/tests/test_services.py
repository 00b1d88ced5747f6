import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.accounts import services
from apps.accounts.factories import AccountFactory, ContactFactory
from apps.accounts.models import Account, Contact, RelationshipLevel
from apps.accounts.selectors import level_history
from pipeline_crm.testing import at_once, wait_until_someone_waits_for_a_lock


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
        services.raise_relationship_level(
            account=account, level=RelationshipLevel.PROSPECT, user=rep
        )
    with time_machine.travel(datetime(2026, 6, 1, 8, 0, tzinfo=UTC), tick=False):
        # A change of something else is not a level change.
        services.update_account(
            account=account, user=manager, seen_version=2, data={"notes": "Met at fair"}
        )
    with time_machine.travel(datetime(2026, 9, 9, 10, 0, tzinfo=UTC), tick=False):
        # Lowering a level is a deliberate edit from a form, never a side effect.
        services.update_account(
            account=account,
            user=manager,
            seen_version=3,
            data={"relationship_level": RelationshipLevel.SUSPECT},
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


# Versions: an edit from a form that showed an older version is refused, never overwrites.


def test_a_stale_edit_is_refused_naming_who_changed_the_account_and_when(rep, manager, settings):
    settings.TIME_ZONE = "Europe/Copenhagen"  # the time is said in the configured zone
    account = AccountFactory(owner=rep, name="Acme Robotics", notes="")
    with time_machine.travel(datetime(2026, 5, 4, 14, 30, tzinfo=UTC), tick=False):
        services.update_account(
            account=account, user=manager, seen_version=1, data={"notes": "Manager's note"}
        )
    with pytest.raises(services.StaleAccount) as error:
        services.update_account(
            account=account, user=rep, seen_version=1, data={"notes": "Rep's note"}
        )
    assert str(error.value) == (
        "Acme Robotics was changed by Maria Manager meanwhile (04 May 2026 16:30). "
        "Nothing was overwritten; here is the current state."
    )
    account.refresh_from_db()
    assert (account.notes, account.version) == ("Manager's note", 2)
    assert account.history.count() == 2


def test_a_form_opened_before_a_win_cannot_put_the_level_back(rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.SUSPECT)
    services.raise_relationship_level(account=account, level=RelationshipLevel.SHOPPER, user=rep)
    # The rep saves the edit form they opened before the win: it still says Suspect.
    with pytest.raises(services.StaleAccount):
        services.update_account(
            account=account,
            user=rep,
            seen_version=1,
            data={"relationship_level": RelationshipLevel.SUSPECT, "notes": "Called them"},
        )
    account.refresh_from_db()
    assert (account.relationship_level, account.notes) == (RelationshipLevel.SHOPPER, "")


def test_an_edit_writes_only_the_fields_it_changes(rep):
    account = AccountFactory(owner=rep, name="Acme Robotics", website="https://acme.example")
    # Stored before URLs were validated: an edit of the notes must not trip over it.
    Account.objects.filter(pk=account.pk).update(website="not a url")
    with CaptureQueriesContext(connection) as queries:
        services.update_account(
            account=account,
            user=rep,
            seen_version=1,
            data={"name": "Acme Robotics", "website": "not a url", "notes": "Met at fair"},
        )
    [update] = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    assert '"notes"' in update and '"version"' in update
    assert '"name"' not in update and '"website"' not in update
    account.refresh_from_db()
    assert (account.notes, account.website, account.version) == ("Met at fair", "not a url", 2)


def test_an_edit_that_changes_nothing_writes_nothing(rep):
    account = AccountFactory(owner=rep, name="Acme Robotics", notes="Same")
    services.update_account(
        account=account,
        user=rep,
        seen_version=1,
        data={"name": "Acme Robotics", "owner": rep, "notes": "Same"},
    )
    account.refresh_from_db()
    assert account.version == 1
    assert account.history.count() == 1


# Raising the level: under the row lock, and never down.


@pytest.mark.parametrize(
    ("stored", "target", "expected"),
    [
        (RelationshipLevel.SUSPECT, RelationshipLevel.SHOPPER, RelationshipLevel.SHOPPER),
        (RelationshipLevel.PROSPECT, RelationshipLevel.SHOPPER, RelationshipLevel.SHOPPER),
        (RelationshipLevel.SHOPPER, RelationshipLevel.SHOPPER, RelationshipLevel.SHOPPER),
        (RelationshipLevel.CLIENT, RelationshipLevel.SHOPPER, RelationshipLevel.CLIENT),
        (RelationshipLevel.AMBASSADOR, RelationshipLevel.PROSPECT, RelationshipLevel.AMBASSADOR),
    ],
)
def test_a_raise_never_lowers_the_level(rep, teammate, stored, target, expected):
    account = AccountFactory(owner=rep, relationship_level=stored)
    services.raise_relationship_level(account=account, level=target, user=teammate)
    account.refresh_from_db()
    assert account.relationship_level == expected
    raised = expected != stored
    assert account.version == (2 if raised else 1)
    history = list(account.history.order_by("history_id"))
    assert len(history) == (2 if raised else 1)
    if raised:
        assert (history[-1].relationship_level, history[-1].history_user) == (target, teammate)


def test_a_raise_works_on_an_account_whose_website_no_longer_validates(rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.PROSPECT)
    Account.objects.filter(pk=account.pk).update(website="not a url")
    services.raise_relationship_level(account=account, level=RelationshipLevel.SHOPPER, user=rep)
    account.refresh_from_db()
    assert (account.relationship_level, account.website) == (RelationshipLevel.SHOPPER, "not a url")


# Concurrency: a win's raise and a manager's edit of the same account, on two connections.


def _raise_to_shopper(account, rep):
    return services.raise_relationship_level(
        account=account, level=RelationshipLevel.SHOPPER, user=rep
    )


def _to_client(account, manager, *, seen_version):
    return services.update_account(
        account=account,
        user=manager,
        seen_version=seen_version,
        data={"relationship_level": RelationshipLevel.CLIENT},
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("put_back_migrated_data")
def test_a_raise_after_a_managers_edit_to_client_leaves_client(rep, manager, team):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.SUSPECT)
    edit_holds_lock = threading.Event()

    def manager_edits():
        with transaction.atomic():
            _to_client(account, manager, seen_version=1)
            edit_holds_lock.set()
            wait_until_someone_waits_for_a_lock()

    def win_raises():
        # The lifecycle read the account before the manager's edit committed: still Suspect.
        assert edit_holds_lock.wait(timeout=10)
        return _raise_to_shopper(account, rep)

    edit, raised = at_once(manager_edits, win_raises, together=False)

    assert edit is None and isinstance(raised, Account), (edit, raised)
    account.refresh_from_db()
    assert (account.relationship_level, account.version) == (RelationshipLevel.CLIENT, 2)
    assert account.history.count() == 2
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("put_back_migrated_data")
def test_a_managers_edit_after_a_raise_is_refused_then_reaches_client(rep, manager, team):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.SUSPECT)
    raise_holds_lock = threading.Event()

    def win_raises():
        with transaction.atomic():
            _raise_to_shopper(account, rep)
            raise_holds_lock.set()
            wait_until_someone_waits_for_a_lock()

    def manager_edits():
        # The manager's form was loaded before the win: version 1, level Suspect.
        assert raise_holds_lock.wait(timeout=10)
        return _to_client(account, manager, seen_version=1)

    raised, edit = at_once(win_raises, manager_edits, together=False)

    assert raised is None and isinstance(edit, services.StaleAccount), (raised, edit)
    assert "changed by Rita Rep meanwhile" in str(edit)
    account.refresh_from_db()
    assert (account.relationship_level, account.version) == (RelationshipLevel.SHOPPER, 2)
    # Nothing was lost silently: the manager reloads (version 2) and saves Client.
    _to_client(account, manager, seen_version=account.version)
    account.refresh_from_db()
    assert account.relationship_level == RelationshipLevel.CLIENT


# Owners: only someone the user may hand work to.


@pytest.mark.parametrize(
    ("who", "new_owner", "allowed"),
    [
        ("rep", "rep", True),
        ("rep", "teammate", False),
        ("rep", "other_rep", False),
        ("manager", "teammate", True),
        ("manager", "manager", True),
        ("manager", "other_rep", False),
        ("pipeline_admin", "other_rep", True),
    ],
)
def test_create_account_only_for_an_assignable_owner(
    request, team, other_team, who, new_owner, allowed
):
    user, owner = request.getfixturevalue(who), request.getfixturevalue(new_owner)
    if allowed:
        account = services.create_account(user=user, data=_account_data(owner=owner))
        assert account.owner == owner
    else:
        with pytest.raises(services.OwnerNotAllowed):
            services.create_account(user=user, data=_account_data(owner=owner))
        assert not Account.objects.exists()


def test_rep_cannot_hand_their_account_to_someone_else(rep, teammate, team):
    account = AccountFactory(owner=rep, notes="")
    with pytest.raises(services.OwnerNotAllowed, match="only a manager can hand"):
        services.update_account(
            account=account,
            user=rep,
            seen_version=1,
            data={"owner": teammate, "notes": "Yours now"},
        )
    account.refresh_from_db()
    assert (account.owner, account.notes, account.version) == (rep, "", 1)


def test_manager_cannot_hand_an_account_to_a_rep_outside_their_teams(
    rep, manager, other_rep, team, other_team
):
    account = AccountFactory(owner=rep)
    with pytest.raises(services.OwnerNotAllowed, match="whose work you see; Olga Other is not one"):
        services.update_account(
            account=account, user=manager, seen_version=1, data={"owner": other_rep}
        )
    account.refresh_from_db()
    assert (account.owner, account.version) == (rep, 1)


def test_keeping_an_owner_who_is_no_longer_assignable_is_not_handing_over(rep, manager, team):
    rep.is_active = False
    rep.save()
    account = AccountFactory(owner=rep, notes="")
    services.update_account(
        account=account, user=manager, seen_version=1, data={"owner": rep, "notes": "Left"}
    )
    account.refresh_from_db()
    assert (account.owner, account.notes) == (rep, "Left")
