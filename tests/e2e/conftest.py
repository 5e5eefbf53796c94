"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

The browser is the one `bin/system-packages` installs (never a download by `playwright
install`). Each test gets a fresh browser context, so no cookie or storage crosses tests.
"""

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.queued_tasks import run_queued_tasks
from tests.e2e.sessions import sign_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Long enough for a slow CI machine to decrypt a key (PBKDF2) and the portal to time-stamp.
TIMEOUT_MS = 30_000
# Assertions wait too: signing (a time-stamp, revocation data, the PDF) on a loaded machine takes
# longer than Playwright's 5 s default.
expect.set_options(timeout=20_000)


# One Chromium per test module rather than per session: while Playwright's sync API is started,
# an asyncio event loop runs in the test thread, and the tests that pytest-django orders after
# the transactional ones (those without a database) must not find it there (asyncio.run fails
# inside a running loop).
@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker) -> Browser:
    # Django sees that running loop, so it refuses ORM calls from this thread as if from async
    # code, and gives the thread other connection objects (asgiref's Local follows the async
    # context there): what pytest-django keeps on the first ones to restore the database after
    # a transactional test must follow.
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
            with django_db_blocker.unblock():
                # serialized_rollback restores the database before each of these tests, but
                # the last one leaves it flushed: put it back for the transactional tests that
                # come after this module and expect what the migrations wrote.
                for alias, contents in serialized.items():
                    connections[alias].creation.deserialize_db_from_string(contents)
                # Opened while the loop ran, so left out of pytest-django's own closing; an
                # open connection would keep PostgreSQL from dropping the test database.
                connections.close_all()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def csp_violations() -> Iterator[list[str]]:
    """What Chromium refused under the portal's Content-Security-Policy, in every context of the
    test: an inline script or style, a foreign source. Any one fails the test."""
    refused: list[str] = []
    yield refused
    if refused:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(refused))


def watch_csp(context: BrowserContext, refused: list[str]) -> None:
    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.location.get('url', '?')}: {message.text}")

    context.on("console", on_console)


@pytest.fixture
def context(
    browser: Browser, live_server, transactional_db, django_db_serialized_rollback, csp_violations
) -> BrowserContext:
    # The live server answers from its own thread, so the test's data must be committed
    # (transactional_db); the flush after each test also empties what migrations put in the
    # database (the audit chain's head), which serialized_rollback puts back for the next one.
    context = browser.new_context(base_url=live_server.url, locale="es-MX")
    context.set_default_timeout(TIMEOUT_MS)
    watch_csp(context, csp_violations)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def new_context(
    browser: Browser, live_server, transactional_db, django_db_serialized_rollback, csp_violations
) -> Callable[..., BrowserContext]:
    """Open more browser contexts in one test (several people, each with their own cookies);
    `new_context(viewport=..., ...)` takes Playwright's context options. All close at the end.
    The database is the `context` fixture's: committed, and put back after the test."""
    opened: list[BrowserContext] = []

    def new(**options) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, locale="es-MX", **options)
        context.set_default_timeout(TIMEOUT_MS)
        watch_csp(context, csp_violations)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


@pytest.fixture
def work_the_queue(live_server) -> Callable[[], list[str]]:
    """Run django-q2's queued tasks now, as a worker would (see tests/e2e/queued_tasks.py)."""
    return partial(run_queued_tasks, connections_override=live_server.thread.connections_override)


@pytest.fixture
def applicant_page(page: Page, context: BrowserContext, applicant, live_server) -> Page:
    """A page signed in as the `applicant` persona."""
    sign_in(context, applicant, live_server)
    return page
