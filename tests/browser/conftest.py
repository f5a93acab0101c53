"""End-to-end tests in a real browser: Playwright driving Debian's Chromium (never a downloaded
one) against a real Casework app served on a free port, seeded with the demo data and with
fresh appeals made through the app's own API (tests/factories.py).

One live server and one browser serve the whole run; each test gets its own browser context
(cookies, language choice), so tests do not see each other's sessions. Nothing sleeps: every
wait is Playwright's auto-waiting ``expect``.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SKIP_REASON = f"Chromium not installed at {CHROMIUM}: browser tests skipped; .ci/run installs it"
HERE = Path(__file__).parent
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000

# Demo staff (casework/demo.py); every one signs in with demo.PASSWORD.
OFFICER_DE = "officer.de@casework.example"
OFFICER_FR = "officer.fr@casework.example"
MEDIATOR_DE = "mediator.de@casework.example"
CLERK = "clerk@cbsst.example"
OVERSIGHT = "oversight@casework.example"


def pytest_collection_modifyitems(config, items):
    """Mark every test of this directory ``browser``; skip them all, saying why, without Chromium."""
    available = os.path.exists(CHROMIUM)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            if not available:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@dataclass
class LiveServer:
    url: str
    app: object
    factory: object
    instance_path: Path
    claimants: list[tuple[str, str, str]] = field(default_factory=list)  # demo (reference, code, state)

    def claimant(self, state: str) -> tuple[str, str]:
        """A demo appeal's reference and access code in ``state``."""
        for reference, code, at in self.claimants:
            if at == state:
                return reference, code
        raise LookupError(state)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """A real Casework app on SQLite in a temporary folder, served by werkzeug on a free port."""
    from werkzeug.serving import make_server

    from casework import create_app, demo
    from tests.factories import Factory

    root = tmp_path_factory.mktemp("browser")
    app = create_app({
        "SECRET_KEY": "browser-test-secret-key",
        "DATABASE_URL": f"sqlite:///{root / 'casework.db'}",
        "INSTANCE_PATH": str(root / "instance"),
        "SMTP_URL": None,  # notices go to .eml files in the temporary instance folder
        "LOG_JSON": False,  # leave the test run's logging as pytest set it up
    })
    with app.app_context():
        lines = demo.ensure()
    claimants = [tuple(line.split()) for line in lines]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="casework-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app,
                         factory=Factory(app, app.test_client()), instance_path=root / "instance",
                         claimants=claimants)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["casework.db"].dispose()


@pytest.fixture(scope="session")
def factory(live_server):
    """Fresh appeals through the real API of the live app (tests/factories.py)."""
    return live_server.factory


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser, live_server):
    """Open a fresh browser context (its own cookies) on the live server; closed after the test."""
    opened = []

    def open_context(**options):
        context = browser.new_context(**{"base_url": live_server.url, "viewport": VIEWPORT, **options})
        context.set_default_timeout(TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


def sign_in(page, email: str, password: str | None = None) -> None:
    """Sign in through the form, as a person would; ends on the page sign-in leads to."""
    from playwright.sync_api import expect

    from casework.demo import PASSWORD

    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def open_as_claimant(page, reference: str, code: str, language: str = "en") -> None:
    """Open an appeal on the claimant's "follow your appeal" page, as a claimant would."""
    from playwright.sync_api import expect

    page.goto(f"/track?lang={language}")
    page.locator("#field-reference").fill(reference)
    page.locator("#field-access_code").fill(code)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(f"/track/{reference}$"))


def action_form(actions, name: str):
    """The ``<details>`` holding one action's form on the case page, by its summary's text."""
    return actions.locator("details").filter(has=actions.page.locator("summary", has_text=re.compile(f"^{re.escape(name)}$")))


@pytest.fixture(scope="session")
def signed_in_state(browser, live_server):
    """The cookies of a signed-in member of staff, signed in once per run through the form."""
    states: dict[str, dict] = {}

    def state(email: str) -> dict:
        if email not in states:
            context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
            context.set_default_timeout(TIMEOUT_MS)
            try:
                sign_in(context.new_page(), email)
                states[email] = context.storage_state()
            finally:
                context.close()
        return states[email]

    return state


@pytest.fixture
def staff_page(new_context, signed_in_state):
    """A page already signed in as ``email`` (a fresh context per call)."""

    def open_page(email: str, **options):
        return new_context(storage_state=signed_in_state(email), **options).new_page()

    return open_page
