"""Login throttling (django-axes): a username or an address is locked out after repeated
wrong passwords, says so in words, and an admin can lift the lock."""

import pytest
from axes.models import AccessAttempt

from apps.users.factories import PASSWORD


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def _log_in(client, username, password, address="10.0.0.1", **headers):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def test_a_username_is_locked_after_wrong_passwords_even_for_the_right_one(client, rep):
    for _ in range(2):
        assert _log_in(client, "rep", "wrong").status_code == 200
    locked = _log_in(client, "rep", "wrong")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    # The right password now, even from elsewhere, is refused too; nobody is signed in.
    response = _log_in(client, "rep", PASSWORD, address="10.0.0.2")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_whatever_usernames_it_tries(client, rep, teammate):
    for name in ("a", "b", "c"):
        _log_in(client, name, "guess", address="10.9.9.9")
    assert _log_in(client, "teammate", PASSWORD, address="10.9.9.9").status_code == 429
    assert _log_in(client, "teammate", PASSWORD, address="10.0.0.7").status_code == 302


def test_a_right_password_clears_the_count(client, rep):
    for _ in range(2):
        _log_in(client, "rep", "wrong")
    assert _log_in(client, "rep", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _log_in(client, "rep", "wrong")
    assert _log_in(client, "rep", PASSWORD).status_code == 302


def test_an_admin_lifts_the_lock_in_the_admin(client, rep, pipeline_admin):
    for _ in range(3):
        _log_in(client, "rep", "wrong")
    assert _log_in(client, "rep", PASSWORD, address="10.0.0.2").status_code == 429
    attempts = list(AccessAttempt.objects.filter(username="rep").values_list("pk", flat=True))
    assert attempts
    admin = client.__class__()
    admin.force_login(pipeline_admin)
    assert admin.get("/admin/axes/accessattempt/").status_code == 200
    selected = {"action": "delete_selected", "_selected_action": attempts, "post": "yes"}
    assert admin.post("/admin/axes/accessattempt/", selected).status_code == 302
    assert not AccessAttempt.objects.filter(username="rep").exists()
    assert _log_in(client, "rep", PASSWORD, address="10.0.0.2").status_code == 302


def test_a_forged_forwarded_address_neither_dodges_nor_shifts_the_lock(client, rep, settings):
    for number in range(3):
        _log_in(client, "x", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    # Without a trusted proxy the header is ignored: the address itself is locked.
    assert _log_in(client, "rep", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429
    # Behind one trusted proxy, the address it saw (the header's last) is the client's.
    settings.TRUSTED_PROXIES = 1
    forwarded = "203.0.113.5, 198.51.100.7"
    assert _log_in(client, "rep", PASSWORD, HTTP_X_FORWARDED_FOR=forwarded).status_code == 302


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("x" * 256, "guess"),  # longer than django-axes's username column
        ("x" * 151, "guess"),  # longer than any username
        ("x" * 100_000, "guess"),
        ("rep\x00", "guess"),
        ("rep", "pass\x00word"),
        ("\x00", "\x00"),
        ("rep", "x" * 100_000),
        ("rep ' OR 1=1 --", "guess"),
    ],
)
def test_absurd_login_input_is_a_wrong_login_not_an_error(client, rep, username, password):
    response = _log_in(client, username, password)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_absurd_username_leaves_the_right_login_working(client, rep):
    for _ in range(3):
        _log_in(client, "x" * 300, "guess", address="10.0.0.3")
    assert _log_in(client, "rep", PASSWORD).status_code == 302


def _change_password(client, old, new="a new Passw0rd of some length", address="10.0.0.1"):
    return client.post(
        "/password/change/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        REMOTE_ADDR=address,
    )


def test_wrong_old_passwords_lock_the_password_change_and_the_login(client, rep):
    client.force_login(rep)
    for _ in range(2):
        response = _change_password(client, "wrong")
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.content.decode()
    locked = _change_password(client, "wrong")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    assert "changing the password are paused" in locked.content.decode()
    # Now even the right old password is refused, and the username cannot sign in elsewhere.
    assert _change_password(client, PASSWORD).status_code == 429
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)
    other = client.__class__()
    assert _log_in(other, "rep", PASSWORD, address="10.0.0.2").status_code == 429


def test_the_right_old_password_changes_it(client, rep):
    client.force_login(rep)
    _change_password(client, "wrong")
    response = _change_password(client, PASSWORD, new="a new Passw0rd of some length")
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a new Passw0rd of some length")


def test_the_admins_password_change_is_the_throttled_one(client, pipeline_admin):
    client.force_login(pipeline_admin)
    for _ in range(3):
        response = client.post(
            "/admin/password_change/",
            {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
        )
        assert response.status_code == 302
        assert response.url == "/password/change/"
    assert client.get("/admin/password_change/").url == "/password/change/"
