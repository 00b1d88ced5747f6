import pytest

from apps.users.factories import PASSWORD, UserFactory


def test_login_page_is_open_to_anonymous_users(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content


@pytest.mark.parametrize(("who", "role"), [("rep", b"Sales rep"), ("manager", b"Sales manager")])
def test_a_user_logs_in_and_lands_on_my_work_under_their_role(client, request, who, role):
    request.getfixturevalue(who)
    response = client.post("/login/", {"username": who, "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert b"<h1>My work</h1>" in response.content
    assert role in response.content


def test_wrong_password_shows_an_error_and_does_not_log_in(client, rep):
    response = client.post("/login/", {"username": "rep", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only(client, rep):
    client.force_login(rep)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response.url == "/login/"
    assert "_auth_user_id" not in client.session


def test_password_change_requires_old_password(client, rep):
    client.force_login(rep)
    response = client.post(
        "/password/change/",
        {
            "old_password": "wrong",
            "new_password1": "n3w-secret-pw",
            "new_password2": "n3w-secret-pw",
        },
    )
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_password_change(client, rep):
    client.force_login(rep)
    response = client.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-secret-pw",
            "new_password2": "n3w-secret-pw",
        },
    )
    assert response.status_code == 302
    assert response.url == "/password/change/done/"
    rep.refresh_from_db()
    assert rep.check_password("n3w-secret-pw")


def test_admin_link_only_for_admins(client, rep, pipeline_admin):
    client.force_login(rep)
    assert b'href="/admin/"' not in client.get("/", follow=True).content
    client.force_login(pipeline_admin)
    assert b'href="/admin/"' in client.get("/").content


@pytest.mark.parametrize(
    ("who", "status"),
    [("rep", 403), ("manager", 403), ("pipeline_admin", 200), ("superuser", 200)],
)
def test_admin_is_for_pipeline_admins_and_superusers(client, db, request, who, status):
    user = UserFactory(is_superuser=True) if who == "superuser" else request.getfixturevalue(who)
    client.force_login(user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == status


def test_pipeline_admin_can_edit_teams_in_admin(client, pipeline_admin, team):
    client.force_login(pipeline_admin)
    assert client.get("/admin/users/team/").status_code == 200
    assert client.get(f"/admin/users/team/{team.pk}/change/").status_code == 200


def test_deleting_a_manager_of_a_team_is_refused(manager, team):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        manager.delete()


def test_health_is_open_and_checks_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_pages_escape_user_names(client, db):
    user = UserFactory(first_name="<script>alert(1)</script>", role="Sales manager")
    client.force_login(user)
    content = client.get("/").content
    assert b"<script>alert(1)</script>" not in content
    assert b"&lt;script&gt;" in content


def test_pipeline_admin_cannot_make_a_superuser(client, pipeline_admin, rep):
    client.force_login(pipeline_admin)
    form = client.get(f"/admin/users/user/{rep.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in form
    assert 'name="user_permissions"' not in form
    superuser = UserFactory(is_superuser=True)
    assert client.get(f"/admin/users/user/{superuser.pk}/change/").status_code == 302
    assert superuser.username not in client.get("/admin/users/user/").content.decode()
