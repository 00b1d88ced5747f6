import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Account
from apps.demo.people import DEMO_PASSWORD
from apps.users.models import Team, User
from apps.users.roles import Role, role_of, visible_users


def _snapshot():
    users = list(
        User.objects.order_by("username").values_list("username", "first_name", "last_name")
    )
    teams = [
        (team.name, team.manager.username, sorted(member.username for member in team.members.all()))
        for team in Team.objects.order_by("name")
    ]
    return users, teams


@pytest.mark.django_db
def test_seed_demo_creates_the_cast(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    roles = [role_of(user) for user in User.objects.all()]
    assert roles.count(Role.ADMIN) == 1
    assert roles.count(Role.MANAGER) == 2
    assert roles.count(Role.REP) == 6
    assert Team.objects.count() == 2
    maria = User.objects.get(username="maria")
    assert visible_users(maria).count() == 4  # herself and her three reps
    assert User.objects.get(username="rep1").check_password(DEMO_PASSWORD)
    output = capsys.readouterr().out
    assert "rep1" in output and DEMO_PASSWORD in output


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_deterministic(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--seed", "7")
    first = _snapshot()
    call_command("seed_demo", "--seed", "7")
    assert _snapshot() == first
    Account.objects.all().delete()
    Team.objects.all().delete()
    User.objects.all().delete()
    call_command("seed_demo", "--seed", "7")
    assert _snapshot() == first


@pytest.mark.django_db
def test_seed_demo_keeps_a_changed_password(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    rep = User.objects.get(username="rep1")
    rep.set_password("my-own-password")
    rep.save()
    call_command("seed_demo")
    rep.refresh_from_db()
    assert rep.check_password("my-own-password")


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="does not run with DEBUG off"):
        call_command("seed_demo")
    assert not User.objects.exists()
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="admin").exists()
