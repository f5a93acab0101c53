"""The access review: what each member of staff can see and do today, and the administrator's
levers on it (revoking an API token, deactivating or activating an account).

DESIGN §6 says what each role may see; the review says what that amounts to now, account by
account, in words and numbers ("appeals handled by or involving DE: 1,234 now"), so that an
administrator can check it against who ought to have access: in a periodic review, or on the
day someone leaves. The numbers come from the indexes the work queues read (one indexed count
per country, tribunal or mediator, each counted once), never from reading the appeals.

Read by ``flask --app casework access review`` and the page ``/admin/access``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import format_decimal, gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from casework.access import usable_token
from casework.clock import now
from casework.db import db
from casework.models import STAFF_ROLES, ApiToken, Appeal, QueueEntry, User


@dataclass(frozen=True)
class Token:
    """A token that works now (neither revoked nor expired); never the token itself."""

    id: int
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Entry:
    """One account in the review."""

    user_id: int
    email: str
    role: str
    country: str | None
    tribunal: str | None
    active: bool
    created_at: datetime
    tokens: list[Token]
    sees: str  # in words, with the numbers of ``counts``
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def next_expiry(self) -> datetime | None:
        return min((t.expires_at for t in self.tokens if t.expires_at), default=None)

    @property
    def tokens_without_expiry(self) -> int:
        return sum(1 for t in self.tokens if t.expires_at is None)

    def as_json(self) -> dict:
        return {
            "email": self.email, "role": self.role, "country": self.country, "tribunal": self.tribunal,
            "active": self.active, "created_at": _iso(self.created_at),
            "tokens": {
                "active": len(self.tokens), "next_expiry": _iso(self.next_expiry),
                "without_expiry": self.tokens_without_expiry,
                "items": [{"id": t.id, "created_at": _iso(t.created_at), "expires_at": _iso(t.expires_at)}
                          for t in self.tokens],
            },
            "sees": self.sees, "counts": self.counts,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class _Counter:
    """Counts of the appeals in each scope, each asked of the database once per review (many
    officers share a country)."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[tuple, int] = {}

    def _count(self, key: tuple, query) -> int:
        if key not in self.cache:
            self.cache[key] = self.session.exec(query).one()
        return self.cache[key]

    def involving(self, country: str) -> int:
        """Appeals the country's institution takes part in: its officers' queue (``ix_queue_entry_state``)."""
        return self._count(("involving", country),
                           select(func.count()).select_from(QueueEntry).where(QueueEntry.country == country))

    def handled_by(self, country: str) -> int:
        return self._count(("handled", country),
                           select(func.count()).select_from(Appeal).where(Appeal.handling_country == country))

    def mediation_pool(self, country: str) -> int:
        """Mediations of the country no mediator has taken (``ix_appeal_mediation_pool``)."""
        return self._count(("pool", country), select(func.count()).select_from(Appeal).where(
            Appeal.state == "in_mediation", Appeal.handling_country == country, Appeal.mediator_id.is_(None)))

    def assigned_to(self, user_id: int) -> int:
        return self._count(("mediator", user_id),
                           select(func.count()).select_from(Appeal).where(Appeal.mediator_id == user_id))

    def referred_to(self, tribunal: str) -> int:
        return self._count(("tribunal", tribunal),
                           select(func.count()).select_from(Appeal).where(Appeal.tribunal_code == tribunal))


def _number(value: int) -> str:
    return format_decimal(value)


def _scope(user: User, counter: _Counter) -> tuple[str, dict[str, int]]:
    """What the role lets ``user`` see and act on (DESIGN §6, casework/access.py), in words."""
    if user.role == "officer":
        if not user.country:
            return _("No appeal: no country is set for this account"), {}
        visible, handled = counter.involving(user.country), counter.handled_by(user.country)
        return (_("Appeals handled by or involving %(country)s: %(visible)s now; may act on those %(country)s "
                  "handles: %(handled)s", country=user.country, visible=_number(visible), handled=_number(handled)),
                {"visible": visible, "may_act": handled})
    if user.role == "mediator":
        own = counter.assigned_to(user.id)
        pool = counter.mediation_pool(user.country) if user.country else 0
        return (_("Mediations of %(country)s not yet taken by a mediator, and their own: %(visible)s now "
                  "(%(own)s their own)", country=user.country or "—", visible=_number(pool + own), own=_number(own)),
                {"visible": pool + own, "not_taken": pool, "own": own})
    if user.role == "tribunal":
        if not user.tribunal_code:
            return _("No appeal: no tribunal is set for this account"), {}
        referred = counter.referred_to(user.tribunal_code)
        return (_("Appeals referred to %(tribunal)s: %(visible)s now", tribunal=user.tribunal_code,
                  visible=_number(referred)), {"visible": referred})
    if user.role == "oversight":
        return _("Published metrics only; no appeal data"), {}
    if user.role == "admin":
        return _("The access review; no appeal data"), {}
    return _("No appeal: the role %(role)s gives no access", role=user.role), {}


def _usable_tokens(session: Session, user_ids: list[int], moment: datetime) -> dict[int, list[Token]]:
    """Each user's tokens that work now, soonest to expire first (by ``ix_apitoken_user_id``)."""
    found: dict[int, list[Token]] = {}
    if not user_ids:
        return found
    rows = session.exec(select(ApiToken).where(ApiToken.user_id.in_(user_ids), usable_token(moment))).all()
    for row in rows:
        found.setdefault(row.user_id, []).append(Token(row.id, row.created_at, row.expires_at))
    for tokens in found.values():
        tokens.sort(key=lambda t: (t.expires_at is None, t.expires_at or t.created_at, t.id))
    return found


def review(session: Session, moment: datetime | None = None) -> list[Entry]:
    """Every staff account, by role then e-mail, with its working tokens and what it can see now.
    A deactivated account sees nothing; the review says what it would see once active again."""
    moment = moment or now()
    order = {role: index for index, role in enumerate(STAFF_ROLES)}
    users = sorted(session.exec(select(User)).all(), key=lambda u: (order.get(u.role, len(order)), u.email))
    tokens = _usable_tokens(session, [u.id for u in users], moment)
    counter = _Counter(session)
    entries = []
    for user in users:
        sees, counts = _scope(user, counter)
        if not user.active:
            sees = _("Nothing while deactivated; once active again: %(scope)s", scope=sees)
        entries.append(Entry(user.id, user.email, user.role, user.country, user.tribunal_code, user.active,
                             user.created_at, tokens.get(user.id, []), sees, counts))
    return entries


# --- the administrator's levers ----------------------------------------------------------------
# Each changes the session's objects and leaves the commit to the request or command, and says
# whether anything changed (a second click, or a command run twice, changes nothing).

def revoke_token(session: Session, token: ApiToken, by: str, moment: datetime | None = None) -> bool:
    """Revoke one token from now on; False when it was already revoked (the first revocation's
    time stands). Its next request gets the 401 of a token never issued."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = moment or now()
    session.add(token)
    current_app.logger.info("access: %s revoked API token %s (user %s)", by, token.id, token.user_id)
    return True


def revoke_tokens_of(session: Session, user: User, by: str, moment: datetime | None = None) -> int:
    """Revoke every token of ``user`` that still works; how many."""
    moment = moment or now()
    rows = session.exec(select(ApiToken).where(ApiToken.user_id == user.id, usable_token(moment))).all()
    return sum(revoke_token(session, row, by, moment) for row in rows)


def set_active(session: Session, user: User, active: bool, by: str) -> bool:
    """Deactivate or activate an account; False when it already was so. A deactivated user
    cannot sign in, their browser session ends at its next request (the user loader refuses
    inactive users) and their tokens get 401; activating the account again brings those tokens
    back, unless they were revoked or have expired meanwhile (revoke them to be sure)."""
    if user.active == active:
        return False
    user.active = active
    session.add(user)
    current_app.logger.info("access: %s %s user %s", by, "activated" if active else "deactivated", user.email)
    return True


# --- the command ------------------------------------------------------------------------------

access_cli = AppGroup("access", help="Who can see and do what.")


def _when(moment: datetime | None, empty: str = "-") -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else empty


def _tokens_cell(entry: Entry) -> str:
    if not entry.tokens:
        return "0"
    never = f" ({entry.tokens_without_expiry} never expire)" if entry.tokens_without_expiry else ""
    return f"{len(entry.tokens)}{never}"


@access_cli.command("review")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of the table.")
def review_command(as_json):
    """Every staff account: role, country or tribunal, active, working tokens, what it can see now."""
    entries = review(db.session)
    if as_json:
        click.echo(json.dumps({"generated_at": _iso(now()), "accounts": [e.as_json() for e in entries]},
                              indent=2, ensure_ascii=False))
        return
    header = ("EMAIL", "ROLE", "WHERE", "ACTIVE", "CREATED", "TOKENS", "NEXT EXPIRY (UTC)", "CAN SEE")
    rows = [(e.email, e.role, e.country or e.tribunal or "-", "yes" if e.active else "no",
             e.created_at.strftime("%Y-%m-%d"), _tokens_cell(e),
             _when(e.next_expiry, "never" if e.tokens else "-"), e.sees) for e in entries]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    click.echo(f"{len(entries)} accounts, {sum(e.active for e in entries)} active, "
               f"{sum(len(e.tokens) for e in entries if e.active)} working tokens")
