"""Screenshots of the main pages, for the README and for looking at the design.

    .venv/bin/python scripts/screenshots.py                  # the demo data in a temporary instance
    .venv/bin/python scripts/screenshots.py http://127.0.0.1:5000 --codes instance/demo-access-codes.txt

Without an address it starts Casework on a temporary SQLite database with the demo data
(``casework.demo``); with one, it uses that running app (started with ``flask --app casework demo
start``), whose demo claimants' access codes are in ``--codes``. It signs in as each role with the
demo password and saves PNGs of a 1280×800 window (and two 390-pixel phone views) into
docs/screenshots/. The browser is Debian's Chromium at /usr/bin/chromium; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
OFFICER = "officer.fr@casework.example"


@contextmanager
def demo_server():
    """Casework on the demo data in a temporary instance, on a free port; yields (url, claimants)."""
    from werkzeug.serving import make_server

    from casework import create_app, demo

    with tempfile.TemporaryDirectory(prefix="casework-screenshots-") as folder:
        app = create_app({
            "DATABASE_URL": f"sqlite:///{os.path.join(folder, 'casework.db')}",
            "INSTANCE_PATH": os.path.join(folder, "instance"),
        })
        with app.app_context():
            lines = demo.ensure()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", [tuple(line.split()) for line in lines]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            app.extensions["casework.db"].dispose()


def read_codes(path: Path) -> list[tuple[str, ...]]:
    if not path.exists():
        sys.exit(f"{path}: no demo access codes (pass --codes, or run without an address)")
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


def first_in(claimants, state: str) -> tuple[str, str]:
    for reference, code, at in claimants:
        if at == state:
            return reference, code
    raise SystemExit(f"no demo appeal in the state {state}")


class Shooter:
    def __init__(self, browser, url: str, out: Path):
        self.browser, self.url, self.out = browser, url, out
        self.saved: list[Path] = []

    def page(self, viewport=DESKTOP, email: str | None = None):
        context = self.browser.new_context(base_url=self.url, viewport=viewport, device_scale_factor=1)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        if email:
            from casework.demo import PASSWORD

            page.goto("/sign-in")
            page.locator("#field-email").fill(email)
            page.locator("#field-password").fill(PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(lambda address: "/sign-in" not in address)
        return page

    def shot(self, page, name: str, full_page: bool = False) -> None:
        page.wait_for_load_state("load")
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.saved.append(path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  ({page.url})")


def open_appeal(page, reference: str, code: str, language: str = "en") -> None:
    """The claimant's way in: the follow-your-appeal form."""
    page.goto(f"/track?lang={language}")
    page.locator("#field-reference").fill(reference)
    page.locator("#field-access_code").fill(code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/track/{reference}")


def take(url: str, claimants, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            shoot = Shooter(browser, url, out)

            page = shoot.page()
            page.goto("/")
            shoot.shot(page, "home")
            page.goto("/sign-in")
            shoot.shot(page, "sign-in")
            page.goto("/lodge")
            shoot.shot(page, "claimant-lodge")
            page.goto("/metrics")
            shoot.shot(page, "metrics")
            page.context.close()

            # An officer: the queue, and the case page of an appeal under review with the form of
            # the decision open (the first appeal under review that this officer handles).
            page = shoot.page(email=OFFICER)
            page.goto("/queue/")
            shoot.shot(page, "officer-queue")
            page.goto("/queue/?state=under_review")
            links = [a.get_attribute("href") for a in page.locator("table.queue tbody tr th a").all()]
            if not links:
                page.goto("/queue/")
                links = [a.get_attribute("href") for a in page.locator("table.queue tbody tr th a").all()]
            for link in links[:10]:  # the first one this officer handles (not one FR is only involved in)
                page.goto(link)
                summary = page.locator("details.action summary", has_text="Decide the review")
                if summary.count():
                    summary.first.click()
                    break
            else:
                page.goto(links[0])
            shoot.shot(page, "case-page")
            page.context.close()
            phone = shoot.page(PHONE, email=OFFICER)
            phone.goto("/queue/")
            shoot.shot(phone, "officer-queue-phone", full_page=True)
            phone.context.close()

            # A claimant whose review was decided: the status page, in English and Arabic, and on a phone.
            reference, code = first_in(claimants, "awaiting_claimant")
            page = shoot.page()
            open_appeal(page, reference, code)
            shoot.shot(page, "claimant-status")
            page.goto(f"/track/{reference}?lang=ar")
            shoot.shot(page, "claimant-status-ar")
            page.context.close()
            phone = shoot.page(PHONE)
            open_appeal(phone, reference, code)
            shoot.shot(phone, "claimant-status-phone")
            phone.context.close()

            for email, path, name in (("mediator.de@casework.example", "/mediations/", "mediator-list"),
                                      ("clerk@cbsst.example", "/referrals/", "tribunal-inbox")):
                page = shoot.page(email=email)
                page.goto(path)
                shoot.shot(page, name)
                page.context.close()
            # The tribunal's case page, with the hearing form open.
            reference, _code = first_in(claimants, "before_tribunal")
            page = shoot.page(email="clerk@cbsst.example")
            page.goto(f"/appeals/{reference}")
            summary = page.locator("details.action summary", has_text="Schedule a hearing")
            if summary.count():
                summary.first.click()
            shoot.shot(page, "tribunal-case-page")
            page.context.close()

            page = shoot.page(email=OFFICER)
            page.goto("/queue/?lang=ar")
            shoot.shot(page, "officer-queue-ar")
            # The entitlement calculation of an appeal under review that this officer handles, and
            # what its claimant reads of it, in Portuguese and in Arabic.
            under_review = [(ref, code) for ref, code, state in claimants if state == "under_review"]
            for reference, code in under_review:
                if page.goto(f"/appeals/{reference}/calculations/1?lang=en").status == 200:
                    break
            else:
                raise SystemExit("no demo calculation on an appeal this officer handles")
            shoot.shot(page, "entitlement-calculation", full_page=True)
            page.context.close()
            page = shoot.page()
            open_appeal(page, reference, code, "pt")
            page.locator("#calculation").screenshot(path=str(out / "entitlement-claimant-pt.png"))
            page.goto(f"/track/{reference}?lang=ar")
            page.locator("#periods").screenshot(path=str(out / "entitlement-periods-ar.png"))
            shoot.saved += [out / "entitlement-claimant-pt.png", out / "entitlement-periods-ar.png"]
            page.context.close()
            return shoot.saved
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a running Casework with the demo data (default: start one)")
    parser.add_argument("--codes", type=Path, default=ROOT / "instance" / "demo-access-codes.txt",
                        help="the demo claimants' access codes, with an address (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="default: %(default)s")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    if args.url:
        saved = take(args.url.rstrip("/"), read_codes(args.codes), args.out)
    else:
        with demo_server() as (url, claimants):
            saved = take(url, claimants, args.out)
    print(f"{len(saved)} screenshots in {args.out}")


if __name__ == "__main__":
    main()
