"""Browser tests: pytest-playwright's `page` driving Debian's Chromium against pytest-django's
`live_server`. Playwright cannot download browsers here, so we point it at the system one.
A failing test leaves a screenshot in test-results/ (--screenshot=only-on-failure)."""

import os

import pytest
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
def _restore_migrated_data(migrated_data):
    """live_server tests run on committed data and end by emptying every table, which also
    drops what data migrations wrote (the role groups). Django's serialized_rollback puts it
    back at the start of the next such test, from a copy it keeps on the connection object;
    but that object lives in a context variable, and Playwright's sync API runs the tests in
    another context, where the connection lacks the copy. Hand it over. (The root conftest
    runs these tests last, so no other test sees the emptied tables.)"""
    connections[DEFAULT_DB_ALIAS]._test_serialized_contents = migrated_data


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(autouse=True)
def _fail_fast(page):
    # Pages here answer in milliseconds; Playwright's 30 s default only slows down a failure.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)


def pytest_terminal_summary(terminalreporter):
    if any(MISSING in str(report.longrepr) for report in terminalreporter.stats.get("skipped", [])):
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)
