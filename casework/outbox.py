"""The outbox: delivers stored notices by e-mail (SMTP when ``SMTP_URL`` is set), else as
``.eml`` files in ``instance/outbox/`` that an operator or a mail pickup service collects.

A notice is claimed before it is sent: in one short transaction its status becomes ``sending``
with a lease (``retry_at``), so two deliverers never send it at the same time. After sending it
is marked ``sent``. A temporary failure (a 4xx reply, a refused connection) puts it back to
``pending`` with an exponential backoff; a permanent one (5xx), or too many attempts, marks it
``failed``, which officers see beside the notice. A deliverer that dies between sending and
marking leaves the lease to expire and the notice is sent again with the same Message-ID, so
mail systems drop the copy; that is the most e-mail allows (SMTP has no exactly-once).
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import and_, or_, update
from sqlmodel import select

from casework.clock import now
from casework.db import db, writing
from casework.models import Appeal, Notice

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)


class TemporaryFailure(Exception):
    """Worth trying again later: the server is busy, down or unreachable."""


class PermanentFailure(Exception):
    """Trying again will not help: the server refused the message or the address."""


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    no_address: int = 0
    errors: list[str] = field(default_factory=list)


# --- addresses and messages ------------------------------------------------------------------

def resolve_address(recipient: str, config) -> str | None:
    """The e-mail address of a notice's recipient. Institutions and mediation services are
    named by role and country (``institution:DE``); an installation maps them to mailboxes in
    ``NOTICE_MAILBOXES``, exactly or with a ``{country}`` pattern under ``institution:*``."""
    if "@" in recipient and ":" not in recipient:
        return recipient
    mailboxes = config.get("NOTICE_MAILBOXES") or {}
    if recipient in mailboxes:
        return mailboxes[recipient]
    kind, _colon, country = recipient.partition(":")
    pattern = mailboxes.get(f"{kind}:*")
    return pattern.format(country=country.lower(), COUNTRY=country.upper()) if pattern and country else None


def message_id(notice: Notice, config) -> str:
    """Stable per notice: a copy sent again after a crash is recognised as the same message."""
    domain = config.get("NOTICE_MESSAGE_ID_DOMAIN") or "casework.invalid"
    return f"<notice-{notice.id}@{domain}>"


def build_message(notice: Notice, reference: str, address: str, config) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.get("NOTICE_SENDER") or formataddr(("Casework", "notices@casework.invalid"))
    message["To"] = address
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(notice.created_at)
    message["Message-ID"] = message_id(notice, config)
    message["X-Casework-Reference"] = reference
    message["X-Casework-Notice"] = str(notice.id)
    message.set_content(notice.body, charset="utf-8")
    message["Content-Language"] = notice.language  # after set_content, which resets Content-* headers
    return message


# --- transports ------------------------------------------------------------------------------

class FileTransport:
    """Writes each message to ``<outbox>/notice-<id>.eml``, atomically; writing it again replaces
    the same file, so a retried delivery never makes a second copy."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def send(self, notice_id: int, message: EmailMessage) -> None:
        target = self.directory / f"notice-{notice_id:09d}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
            os.replace(temporary, target)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise TemporaryFailure(f"cannot write {target}: {error}") from error

    def close(self) -> None:
        pass


class SMTPTransport:
    """One SMTP connection for a batch, opened on first use. ``smtp://user:pass@host:port``
    (``?starttls=true`` to upgrade) or ``smtps://`` for TLS from the start."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme}://")
        self.url = parts
        self.starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        host, port = self.url.hostname or "localhost", self.url.port
        if self.url.scheme == "smtps":
            connection = smtplib.SMTP_SSL(host, port or 465, timeout=self.timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port or 25, timeout=self.timeout)
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
        if self.url.username:
            connection.login(unquote(self.url.username), unquote(self.url.password or ""))
        return connection

    def send(self, notice_id: int, message: EmailMessage) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            self._drop()
            codes = [code for code, _text in error.recipients.values()]
            failure = TemporaryFailure if all(400 <= code < 500 for code in codes) else PermanentFailure
            raise failure(f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            self._drop()
            text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
            failure = TemporaryFailure if 400 <= error.smtp_code < 500 else PermanentFailure
            raise failure(f"{error.smtp_code} {text}") from error
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            self._drop()
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


def transport(config):
    url = config.get("SMTP_URL")
    if url:
        return SMTPTransport(url, timeout=config.get("SMTP_TIMEOUT", 30))
    return FileTransport(Path(current_app.instance_path) / "outbox")


@contextmanager
def _transport(config) -> Iterator:
    carrier = transport(config)
    try:
        yield carrier
    finally:
        carrier.close()


# --- claiming and recording ------------------------------------------------------------------

def _deliverable(moment):
    """Pending notices whose retry time has come, and claims whose lease ran out (a deliverer died)."""
    return or_(
        and_(Notice.status == "pending", or_(Notice.retry_at.is_(None), Notice.retry_at <= moment)),
        and_(Notice.status == "sending", Notice.retry_at <= moment),
    )


def claim(limit: int) -> list[int]:
    """Take up to ``limit`` deliverable notices for this deliverer, oldest first."""
    moment = now()
    with writing(), db.new_session() as session:
        ids = list(session.exec(
            select(Notice.id).where(_deliverable(moment)).order_by(Notice.id).limit(limit)
            .with_for_update(skip_locked=True)
        ))
        if ids:
            session.execute(
                update(Notice).where(Notice.id.in_(ids))
                .values(status="sending", retry_at=moment + LEASE, attempts=Notice.attempts + 1)
            )
        session.commit()
    return ids


def _finish(notice_id: int, **values) -> None:
    """Record the end of this deliverer's attempt, unless its claim was taken over meanwhile."""
    with writing(), db.new_session() as session:
        session.execute(update(Notice).where(Notice.id == notice_id, Notice.status == "sending").values(**values))
        session.commit()


def backoff(attempts: int, config) -> timedelta:
    base = timedelta(seconds=config.get("OUTBOX_RETRY_SECONDS", 60))
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver_one(carrier, notice_id: int, config, result: DeliveryResult) -> None:
    with db.new_session() as session:
        found = session.exec(
            select(Notice, Appeal.reference).join(Appeal, Appeal.id == Notice.appeal_id).where(Notice.id == notice_id)
        ).first()
    if found is None:
        return
    notice, reference = found
    address = resolve_address(notice.recipient, config)
    if address is None:
        _finish(notice_id, status="no_address", retry_at=None,
                last_error=f"no e-mail address for {notice.recipient or 'this recipient'}: send it by post")
        result.no_address += 1
        return
    try:
        carrier.send(notice_id, build_message(notice, reference, address, config))
    except TemporaryFailure as error:
        if notice.attempts >= config.get("OUTBOX_MAX_ATTEMPTS", 10):
            _finish(notice_id, status="failed", retry_at=None, last_error=f"gave up after {notice.attempts} attempts: {error}")
            result.failed += 1
        else:
            _finish(notice_id, status="pending", retry_at=now() + backoff(notice.attempts, config), last_error=str(error))
            result.retrying += 1
        result.errors.append(f"notice {notice_id}: {error}")
        return
    except PermanentFailure as error:
        _finish(notice_id, status="failed", retry_at=None, last_error=str(error))
        result.failed += 1
        result.errors.append(f"notice {notice_id}: {error}")
        return
    _finish(notice_id, status="sent", sent_at=now(), retry_at=None, last_error=None)
    result.sent += 1


def deliver(limit: int | None = None) -> DeliveryResult:
    """Deliver every deliverable notice now, batch after batch; a failure never stops the rest."""
    config = current_app.config
    batch_size = config.get("OUTBOX_BATCH_SIZE", 100)
    result = DeliveryResult()
    delivered = 0
    with _transport(config) as carrier:
        while limit is None or delivered < limit:
            ids = claim(batch_size if limit is None else min(batch_size, limit - delivered))
            if not ids:
                break
            for notice_id in ids:
                try:
                    deliver_one(carrier, notice_id, config, result)
                except Exception as error:  # a broken notice must not stop the others; it is retried
                    log.exception("notice %s could not be delivered", notice_id)
                    _finish(notice_id, status="pending", retry_at=now() + backoff(1, config),
                            last_error=f"{type(error).__name__}: {error}")
                    result.retrying += 1
                    result.errors.append(f"notice {notice_id}: {type(error).__name__}: {error}")
            delivered += len(ids)
    return result


def retry(notice_ids: list[int] | None = None) -> int:
    """Put failed (or undeliverable) notices back in the queue, after an operator fixed the cause."""
    with writing(), db.new_session() as session:
        query = update(Notice).where(Notice.status.in_(("failed", "no_address")))
        if notice_ids is not None:
            query = query.where(Notice.id.in_(notice_ids))
        changed = session.execute(query.values(status="pending", retry_at=None, attempts=0)).rowcount
        session.commit()
    return changed
