"""What the browser tests do on many pages."""

import re

from playwright.sync_api import expect

from apps.users.factories import PASSWORD


def log_in(page, live_server, username: str, next_url: str = "") -> None:
    """Sign in through the login form as `username`, then on to `next_url` if given; returns
    once the page after the login page has loaded, as `page.goto` does: its deferred scripts
    (htmx, the board's) have run, so what the test does next is what a person's click does."""
    page.goto(f"{live_server.url}/login/" + (f"?next={next_url}" if next_url else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.wait_for_load_state()
