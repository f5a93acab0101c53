"""Staff sign-in and sign-out. The session lasts 8 hours (``PERMANENT_SESSION_LIFETIME``) and
ends at sign-out; a wrong e-mail and a wrong password get the same answer, and too many of
either (from one address, or for one e-mail address) a pause (``RATELIMIT_SIGN_IN``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlmodel import select
from werkzeug.security import check_password_hash

from casework import ratelimits
from casework.db import db
from casework.errors import RateLimited
from casework.models import User

bp = Blueprint("auth", __name__)
# Checked against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = "scrypt:32768:8:1$OF1uPJGFkQ1TITXR$cfa2547d85eee1a184d5405854bc953179cb2124a637af1b0f3b3a7caaaeef9d2156f8177a53e5631d45a4d854eeeccddde20af859ba165219ce52af8454baff"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an address elsewhere (``//evil``, ``https://…``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors = {}
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not email:
            errors["email"] = _("Enter your e-mail address.")
        if not password:
            errors["password"] = _("Enter your password.")
        if not errors:
            try:
                ratelimits.SIGN_IN.check(email)
            except RateLimited as refusal:  # too many failures from here or for this e-mail address
                return (render_template("auth/sign_in.html", errors={"email": str(refusal.message)}, email=email),
                        refusal.status, refusal.headers)
            user = db.session.exec(select(User).where(User.email == email)).first()
            valid = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
            if user is not None and user.active and valid:
                language = session.get("lang")
                session.clear()  # nothing of the visit before signing in carries over, but its language
                if language:
                    session["lang"] = language
                session.permanent = True
                login_user(user)
                return redirect(_safe_next(request.args.get("next")) or url_for("pages.work"), code=303)
            ratelimits.SIGN_IN.failed(email)
            errors["email"] = _("The e-mail address or the password is not right.")
    status = 422 if errors else 200
    return render_template("auth/sign_in.html", errors=errors, email=email), status


@bp.post("/sign-out")
@login_required
def sign_out():
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("pages.home"), code=303)
