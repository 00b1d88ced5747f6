"""Browser tests: pytest-playwright's `page` driving Debian's Chromium against pytest-django's
`live_server`. Playwright cannot download browsers here, so we point it at the system one.
A failing test leaves a screenshot in test-results/ (--screenshot=only-on-failure)."""

import os

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from playwright.sync_api import expect

# pytest-playwright keeps an event loop running in the main thread; Django would otherwise
# refuse the tests' own (synchronous) database calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING = f"Chromium is not at {CHROMIUM}: BROWSER TESTS SKIPPED (apt-get install -y chromium)"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
            # Committed data for live_server; serialized_rollback: see _restore_migrated_data.
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(autouse=True)
def _restore_migrated_data(migrated_data, django_db_blocker):
    """live_server tests run on committed data, and every transactional test ends by emptying
    the tables, which also drops what data migrations wrote (the role groups, the pipelines).
    Put it back when it is missing.

    Django's serialized_rollback would, but it keeps its copy on the connection object, which
    lives in a context variable, and Playwright's sync API runs the tests in another context.
    Handing the copy over also makes the flush after each test leave the tables empty rather
    than re-create content types, so the copy loads cleanly. (The root conftest runs these
    tests last, so no other test sees the emptied tables.)"""
    connection = connections[DEFAULT_DB_ALIAS]
    connection._test_serialized_contents = migrated_data
    with django_db_blocker.unblock():
        if not Group.objects.exists():
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            connection.creation.deserialize_db_from_string(migrated_data)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture
def console_errors(page):
    """What the page reports as broken: console errors and uncaught exceptions."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture(autouse=True)
def _fail_fast(page):
    # Pages here answer in milliseconds; Playwright's 30 s default only slows down a failure.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)


def pytest_terminal_summary(terminalreporter):
    if any(MISSING in str(report.longrepr) for report in terminalreporter.stats.get("skipped", [])):
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)
