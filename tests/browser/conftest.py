"""Browser tests: pytest-playwright's `page` driving Debian's Chromium against pytest-django's
`live_server`. Playwright cannot download browsers here, so we point it at the system one.
A failing test leaves a screenshot in test-results/ (--screenshot=only-on-failure)."""

import os

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

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
            # live_server needs committed data, and flushing after a test would also drop what
            # data migrations made (the role groups): serialized_rollback puts it back.
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(scope="session")
def _serialized_database(django_db_setup):
    """What data migrations wrote (roles, default pipelines), as serialized at database setup.

    Django keeps it on the connection object, which lives in a context variable; Playwright's
    sync API runs the tests in another context, where a new connection object lacks it.
    """
    return connections[DEFAULT_DB_ALIAS]._test_serialized_contents


@pytest.fixture(autouse=True)
def _restore_migrated_data(_serialized_database):
    connections[DEFAULT_DB_ALIAS]._test_serialized_contents = _serialized_database


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def pytest_terminal_summary(terminalreporter):
    if any(MISSING in str(report.longrepr) for report in terminalreporter.stats.get("skipped", [])):
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)
