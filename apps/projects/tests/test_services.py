import pytest
from django.core.exceptions import ValidationError

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.projects import services


def test_a_note_needs_text(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(ValidationError):
        services.add_note(project=project, user=rep, text="   ")
    assert not project.notes.exists()


# Which account a new project goes on: one rule (choose_account), which the form calls.


@pytest.fixture
def accounts(rep, other_rep):
    return {
        "acme": AccountFactory(owner=rep, name="Acme Robotics"),
        "foreign": AccountFactory(owner=other_rep, name="Acme Foreign"),
    }


EXISTS = "An account named “Acme Robotics” already exists, so the project is on it."


@pytest.mark.parametrize(
    ("pk", "name", "create", "chosen"),
    [
        ("acme", "", False, ("acme", "", "")),
        ("acme", "ACME robotics", False, ("acme", "", "")),
        (None, "acme ROBOTICS", False, ("acme", "", "")),
        (None, "acme robotics", True, ("acme", "", EXISTS)),
        (None, "Borealis", True, (None, "Borealis", "")),
        # The name typed after picking an account decides.
        ("acme", "Borealis", True, (None, "Borealis", "")),
    ],
)
def test_the_account_a_new_project_goes_on(rep, accounts, pk, name, create, chosen):
    choice = services.choose_account(
        user=rep, pk=accounts[pk].pk if pk else None, name=name, create=create
    )
    account, new_name, note = chosen
    assert (choice.account, choice.new_name, choice.note) == (
        accounts[account] if account else None,
        new_name,
        note,
    )


@pytest.mark.parametrize(
    ("pk", "name", "create", "refusal"),
    [
        ("foreign", "", False, "That account is not one you can see"),
        ("foreign", "Acme Foreign", False, "That account is not one you can see"),
        (None, "acme foreign", True, "already exists, but it is not one you can see"),
        ("acme", "Acme Foreign", False, "already exists, but it is not one you can see"),
        (None, "Borealis", False, "No account you can see is named “Borealis”"),
    ],
)
def test_an_account_the_user_may_not_choose_is_refused_in_words(
    rep, accounts, pk, name, create, refusal
):
    with pytest.raises(services.AccountNotChosen, match=refusal):
        services.choose_account(
            user=rep, pk=accounts[pk].pk if pk else None, name=name, create=create
        )
