import re

from playwright.sync_api import expect

from apps.users.factories import PASSWORD


def test_rep_logs_in_and_lands_on_my_work(page, live_server, rep):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.get_by_text("Sales rep").first).to_be_visible()


def test_wrong_password_shows_an_error(page, live_server, rep):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
    expect(page).to_have_url(re.compile(r"/login/$"))
