"""Delivery of notices: .eml files by default, SMTP against a real local server (aiosmtpd),
retries with backoff after temporary failures, no duplicate, failures visible to officers."""

from __future__ import annotations

import email
import socket
from datetime import datetime, timedelta, timezone
from email import policy
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlmodel import select

from casework import outbox
from casework.db import db
from casework.models import Notice
from tests.factories import Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
MAILBOXES = {"institution:*": "appeals-{country}@institutions.example", "mediation:*": "mediation-{country}@example.org"}


class Recorder:
    """An SMTP server's message handler that keeps what it accepts and can refuse on purpose."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refusals: list[str] = []  # replies to give to the next DATA commands, in order

    async def handle_DATA(self, server, session, envelope):
        if self.refusals:
            return self.refusals.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    recorder.url = f"smtp://127.0.0.1:{controller.port}"
    yield recorder
    controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _deliver(app):
    with app.app_context():
        return outbox.deliver()


def _notices(app) -> list[Notice]:
    with app.app_context():
        return list(db.session.exec(select(Notice).order_by(Notice.id)))


def test_without_smtp_notices_become_eml_files_once(make_app, clock):
    app = make_app(NOTICE_MAILBOXES=MAILBOXES)
    factory = Factory(app, app.test_client())
    factory.appeal("under_review")
    stored = _notices(app)
    result = _deliver(app)
    assert (result.sent, result.failed, result.no_address) == (len(stored), 0, 0)
    files = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(files) == len(stored)
    claimant = next(n for n in stored if n.recipient_role == "claimant")
    message = email.message_from_bytes(files[[n.id for n in stored].index(claimant.id)].read_bytes(), policy=policy.default)
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == claimant.subject
    assert message["Content-Language"] == "pl"
    assert message.get_content() == claimant.body
    assert all(n.status == "sent" and n.sent_at is not None and n.attempts == 1 for n in _notices(app))
    # Nothing is delivered twice.
    assert _deliver(app).sent == 0
    assert len(list((Path(app.instance_path) / "outbox").glob("*.eml"))) == len(stored)


def test_a_recipient_without_an_address_is_marked_for_post(app, factory, clock):
    factory.lodge(claimant__email=None)
    result = _deliver(app)
    assert result.sent == 0 and result.no_address == len(_notices(app))
    by_role = {n.recipient_role: n for n in _notices(app)}
    assert by_role["claimant"].status == "no_address"
    assert "send it by post" in by_role["institution"].last_error


def test_smtp_delivery_in_the_recipients_language(make_app, smtp, clock):
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES=MAILBOXES)
    Factory(app, app.test_client()).lodge()
    result = _deliver(app)
    stored = _notices(app)
    assert result.sent == len(stored) == len(smtp.messages)
    received = {m["To"]: m for m in smtp.messages}
    institution = received["appeals-de@institutions.example"]
    assert institution["Content-Language"] == "de"
    claimant_notice = next(n for n in stored if n.recipient_role == "claimant")
    claimant_mail = received["ana@example.org"]
    assert claimant_mail["Message-ID"] == f"<notice-{claimant_notice.id}@casework.invalid>"
    assert claimant_mail["Subject"] == claimant_notice.subject
    assert claimant_mail.get_content().replace("\r\n", "\n") == claimant_notice.body  # CRLF on the wire


def test_a_server_that_fails_first_gets_the_notice_once_on_retry(make_app, smtp, clock):
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES=MAILBOXES, OUTBOX_RETRY_SECONDS=60)
    Factory(app, app.test_client()).lodge()
    count = len(_notices(app))
    smtp.refusals = ["451 4.3.0 Mailbox temporarily unavailable"]
    first = _deliver(app)
    assert (first.sent, first.retrying) == (count - 1, 1)
    waiting = [n for n in _notices(app) if n.status == "pending"]
    assert len(waiting) == 1 and waiting[0].retry_at == START + timedelta(seconds=60)
    assert "451" in waiting[0].last_error
    # Not before its time: the backoff holds.
    assert _deliver(app).sent == 0
    clock.shift(timedelta(seconds=61))
    second = _deliver(app)
    assert (second.sent, second.retrying) == (1, 0)
    assert len(smtp.messages) == count
    assert len({m["Message-ID"] for m in smtp.messages}) == count  # no duplicate
    again = next(n for n in _notices(app) if n.id == waiting[0].id)
    assert (again.status, again.attempts, again.last_error) == ("sent", 2, None)
    assert _deliver(app).sent == 0


def test_backoff_doubles_and_gives_up_after_the_last_attempt(make_app, smtp, clock):
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES={}, OUTBOX_RETRY_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
    Factory(app, app.test_client()).lodge()  # only the claimant has an address
    smtp.refusals = ["421 4.7.0 Try again later"] * 3
    waits = []
    for _ in range(3):
        _deliver(app)
        claimant = next(n for n in _notices(app) if n.recipient_role == "claimant")
        if claimant.retry_at:
            waits.append(claimant.retry_at - outbox.now())
            clock.move_to(claimant.retry_at)
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]
    assert (claimant.status, claimant.attempts) == ("failed", 3)
    assert claimant.last_error.startswith("gave up after 3 attempts")
    assert smtp.messages == []


def test_a_permanent_refusal_fails_at_once_and_officers_see_why(make_app, smtp, clock):
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES={})
    factory = Factory(app, app.test_client())
    reference = factory.lodge()["reference"]
    smtp.refusals = ["550 5.1.1 No such user here"]
    assert _deliver(app).failed == 1
    listed = factory.client.get(f"/api/v1/appeals/{reference}/notices", headers=factory.staff("officer", "DE").headers)
    claimant = next(n for n in listed.get_json()["items"] if n["recipient_role"] == "claimant")
    assert claimant["status"] == "failed" and "550" in claimant["last_error"] and claimant["attempts"] == 1


def test_an_unreachable_server_is_retried(make_app, clock):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{_free_port()}", NOTICE_MAILBOXES={}, SMTP_TIMEOUT=2)
    Factory(app, app.test_client()).lodge()
    result = _deliver(app)
    assert result.retrying == 1 and result.sent == 0
    claimant = next(n for n in _notices(app) if n.recipient_role == "claimant")
    assert claimant.status == "pending" and "Connection" in claimant.last_error


def test_a_claim_is_exclusive_until_its_lease_ends(make_app, smtp, clock):
    """A deliverer that died after claiming (or after sending) leaves the notice to the lease:
    nobody else sends it meanwhile, and afterwards it goes out again with the same Message-ID."""
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES={})
    Factory(app, app.test_client()).lodge()
    with app.app_context():
        claimed = outbox.claim(10)
        assert outbox.claim(10) == []  # a second deliverer finds nothing to take
    assert len(claimed) == len(_notices(app))
    assert _deliver(app).sent == 0
    clock.shift(outbox.LEASE + timedelta(seconds=1))
    assert _deliver(app).sent == 1  # the claimant's; the others have no address
    assert len(smtp.messages) == 1


def test_retry_queues_failed_notices_again(make_app, smtp, clock):
    app = make_app(SMTP_URL=smtp.url, NOTICE_MAILBOXES={})
    Factory(app, app.test_client()).lodge()
    smtp.refusals = ["554 5.7.1 Rejected"]
    _deliver(app)
    cli = app.test_cli_runner()
    listed = cli.invoke(args=["notices", "list", "--status", "failed"])
    assert "554" in listed.output and "claimant" in listed.output
    assert cli.invoke(args=["notices", "retry"]).exit_code != 0
    queued = cli.invoke(args=["notices", "retry", "--all"])
    assert "queued" in queued.output
    delivered = cli.invoke(args=["notices", "deliver"])
    assert delivered.output.strip().splitlines()[-1].startswith("sent 1,")
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("recipient, expected", [
    ("ana@example.org", "ana@example.org"),
    ("institution:DE", "appeals-de@institutions.example"),
    ("mediation:FR", "mediation-fr@example.org"),
    ("tribunal:LU", None),
    ("", None),
])
def test_addresses_resolve_from_the_mailbox_map(recipient, expected):
    assert outbox.resolve_address(recipient, {"NOTICE_MAILBOXES": MAILBOXES}) == expected


def test_an_exact_mailbox_wins_over_the_pattern():
    mailboxes = {**MAILBOXES, "institution:DE": "widerspruch@drv.example"}
    assert outbox.resolve_address("institution:DE", {"NOTICE_MAILBOXES": mailboxes}) == "widerspruch@drv.example"
