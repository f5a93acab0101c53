"""Who may see and do what (DESIGN §6), in one place.

Staff authenticate with a bearer token; claimants with their appeal reference and access code.
Officers see appeals their country takes part in and act on those their country handles;
mediators act on mediations assigned to them (or, unassigned, handled by their country);
tribunals see and act on appeals escalated to them. Oversight and admins see no case data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request
from flask_babel import gettext as _, lazy_gettext
from sqlalchemy import and_, false, or_
from sqlalchemy.orm import lazyload
from sqlalchemy.sql import ColumnElement

from casework import ratelimits
from casework.clock import now
from casework.db import db
from casework.errors import Forbidden, NotFound, Unauthorized
from casework.models import ApiToken, Appeal, AppealCountry, User
from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

ACCESS_CODE_REQUIRED = lazy_gettext("The access code is required (X-Access-Code header).")
ACCESS_CODE_BYTES = 15  # 120 bits: far beyond guessing, short enough to read out on the phone


@dataclass(frozen=True)
class Actor:
    """Whoever performs an action: a staff user, the claimant, or the deadline sweep."""

    role: str
    label: str
    user: User | None = None

    @classmethod
    def staff(cls, user: User) -> "Actor":
        return cls(role=user.role, label=user.email, user=user)


CLAIMANT = Actor(role="claimant", label="claimant")
SYSTEM = Actor(role="system", label="system")


# --- secrets -------------------------------------------------------------------------------

def new_access_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(ACCESS_CODE_BYTES)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _normalise_code(code: str) -> bytes:
    return "".join(ch for ch in code.upper() if ch.isalnum()).encode()


def hash_access_code(code: str) -> str:
    """Keyed hash: a copy of the database alone does not allow testing guesses offline."""
    key = hashlib.sha256(b"casework-access-code:" + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, _normalise_code(code), hashlib.sha256).hexdigest()


def new_api_token() -> str:
    return "cw_" + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_expiry(days: int | None = None, moment: datetime | None = None) -> datetime | None:
    """When a token issued now stops working: after ``days``, by default ``API_TOKEN_DAYS``
    (None or 0 there: never). A token that lives for ever stays good wherever it leaked to."""
    if days is None:
        days = current_app.config.get("API_TOKEN_DAYS")
    return (moment or now()) + timedelta(days=days) if days else None


def issue_api_token(session: Session, user: User, days: int | None = None) -> str:
    """Record a new token for ``user`` in ``session``, expiring after ``days`` (by default
    ``API_TOKEN_DAYS``); the caller commits. Only its hash is kept."""
    token = new_api_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_api_token(token), expires_at=token_expiry(days)))
    return token


def usable_token(moment: datetime) -> ColumnElement:
    """SQL condition: the token is neither revoked nor expired at ``moment`` (its user may still
    be deactivated: that is ``User.active``)."""
    return and_(ApiToken.revoked_at.is_(None), or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > moment))


def new_staff(session: Session, email: str, role: str, password: str | None, country: str | None = None,
              tribunal: str | None = None) -> User:
    """Add a staff user, the caller commits. The password is kept hashed (scrypt, Werkzeug's
    default); without one the user signs in with API tokens only."""
    user = User(email=email, role=role, country=country, tribunal_code=tribunal,
                password_hash=generate_password_hash(password) if password else "")
    session.add(user)
    session.flush()
    return user


# --- authentication --------------------------------------------------------------------------

def current_staff(required: bool = True) -> User | None:
    """The staff user of a bearer token; 401 when it is missing or not valid. A revoked or
    expired token, or one of a deactivated user, gets the same 401 as a token never issued:
    the answer tells someone holding an old token nothing about it."""
    if "staff_user" in g:
        return g.staff_user
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if required:
            raise Unauthorized(_("A bearer token is required (Authorization: Bearer <token>)."))
        return None
    user = db.session.exec(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_api_token(token.strip()), usable_token(now()), User.active)
    ).first()
    if user is None:
        raise Unauthorized(_("The token is not valid."))
    g.staff_user = user
    return user


def claimant_appeal(reference: str, code: str | None, *, lock: bool = False) -> Appeal:
    """The appeal a reference and access code open. An unknown reference and a wrong code get
    the same 404, after the same work, so neither reveals that the other was right; both count
    as a failed guess, and after too many the answer is 429 whatever the code (ratelimits.py)."""
    if not code:
        raise Unauthorized(ACCESS_CODE_REQUIRED)
    ratelimits.ACCESS_CODES.check(reference)
    given = hash_access_code(code)
    appeal = find_appeal(reference, lock=lock)
    stored = appeal.access_code_hash if appeal is not None else "0" * 64
    if not hmac.compare_digest(given, stored) or appeal is None:
        ratelimits.ACCESS_CODES.failed(reference)
        raise NotFound(_("No appeal matches this reference and access code."))
    return appeal


REFERENCE = re.compile(r"CW-[0-9]{4}-[0-9]{6,12}")


def find_appeal(reference: str, *, lock: bool = False) -> Appeal | None:
    """The appeal with this reference. ``lock`` (before acting on it) makes a concurrent action
    wait for this transaction and then see the new version, instead of colliding half-way."""
    if not REFERENCE.fullmatch(reference):
        return None  # not a reference Casework issues: nothing to look up
    # The countries are loaded when something reads them (acting, a staff view), not for the
    # claimant's status, the busiest request.
    query = select(Appeal).where(Appeal.reference == reference).options(lazyload(Appeal.countries))
    if lock:
        query = query.with_for_update(of=Appeal)
    return db.session.exec(query).unique().first()


# --- visibility and permission ---------------------------------------------------------------

def visible_filter(user: User) -> ColumnElement:
    """SQL condition selecting the appeals ``user`` may see."""
    if user.role == "officer" and user.country:
        involving = select(AppealCountry.appeal_id).where(AppealCountry.country == user.country)
        return Appeal.id.in_(involving)
    if user.role == "mediator":
        return or_(
            Appeal.mediator_id == user.id,
            and_(Appeal.mediator_id.is_(None), Appeal.handling_country == user.country, Appeal.state == "in_mediation"),
        )
    if user.role == "tribunal" and user.tribunal_code:
        return Appeal.tribunal_code == user.tribunal_code
    return false()


def can_see(user: User, appeal: Appeal) -> bool:
    if user.role == "officer":
        return user.country in appeal.country_codes
    if user.role == "mediator":
        return appeal.mediator_id == user.id or (
            appeal.mediator_id is None and appeal.handling_country == user.country and appeal.state == "in_mediation"
        )
    if user.role == "tribunal":
        return bool(user.tribunal_code) and appeal.tribunal_code == user.tribunal_code
    return False


def can_act(user: User, appeal: Appeal) -> bool:
    """Whether ``user`` may act on a visible appeal at all (the workflow then says which action)."""
    if user.role == "officer":
        return appeal.handling_country == user.country
    return user.role in ("mediator", "tribunal") and can_see(user, appeal)


def load_visible(reference: str, user: User, *, lock: bool = False) -> Appeal:
    """The appeal, or 404 whether it does not exist or is not the caller's to see."""
    appeal = find_appeal(reference, lock=lock)
    if appeal is None or not can_see(user, appeal):
        raise NotFound(_("No such appeal."))
    return appeal


def require_can_act(user: User, appeal: Appeal) -> None:
    if not can_act(user, appeal):
        raise Forbidden(_("Only the institution handling this appeal may act on it."))


def can_fetch_case_file(user: User, appeal: Appeal) -> bool:
    """The signed case file and its documents go to the tribunal hearing the appeal and to the
    institution answering for it; other institutions involved see the appeal, not the file."""
    if user.role == "tribunal":
        return bool(user.tribunal_code) and appeal.tribunal_code == user.tribunal_code
    return user.role == "officer" and appeal.handling_country == user.country


def load_case_file(reference: str, user: User) -> Appeal:
    """The appeal whose case file ``user`` may fetch, or the same 404 as an unknown reference."""
    appeal = find_appeal(reference)
    if appeal is None or not can_fetch_case_file(user, appeal):
        raise NotFound(_("No such appeal."))
    return appeal
