"""The administrators' page: the access review (every staff account, its working API tokens and
what it can see now) with the levers to revoke a token and to deactivate or activate an account.

Administrators only: other staff get a 403 page (like the mediators' and tribunals' lists),
someone not signed in is sent to the sign-in page. Every change is a POST form with its CSRF
token, answered by a redirect back to the review with a message saying what was done.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casework import access_review
from casework.db import db
from casework.models import ApiToken, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _require_admin() -> None:
    if current_user.role != "admin":
        abort(403)


def _back():
    return redirect(url_for("admin.access"), code=303)


@bp.get("/access")
@login_required
def access():
    _require_admin()
    entries = access_review.review(db.session)
    return render_template("admin/access.html", entries=entries, active=sum(e.active for e in entries),
                           tokens=sum(len(e.tokens) for e in entries if e.active))


@bp.post("/access/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    _require_admin()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    owner = db.session.get(User, token.user_id)
    if access_review.revoke_token(db.session, token, by=current_user.email):
        db.session.commit()
        flash(_("Token %(id)s of %(email)s is revoked: it no longer works.", id=token_id, email=owner.email),
              "success")
    else:
        flash(_("Token %(id)s of %(email)s was already revoked.", id=token_id, email=owner.email), "warning")
    return _back()


def _set_active(user_id: int, active: bool):
    _require_admin()
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not active and user.id == current_user.id:
        flash(_("You cannot deactivate your own account; another administrator can."), "error")
        return _back()
    if not access_review.set_active(db.session, user, active, by=current_user.email):
        flash(_("%(email)s is already active.", email=user.email) if active
              else _("%(email)s is already deactivated.", email=user.email), "warning")
        return _back()
    db.session.commit()
    if active:
        flash(_("%(email)s is active again: they can sign in, and their tokens that are neither revoked nor "
                "expired work again.", email=user.email), "success")
    else:
        flash(_("%(email)s is deactivated: they can no longer sign in or use their tokens.", email=user.email),
              "success")
    return _back()


@bp.post("/access/users/<int:user_id>/deactivate")
@login_required
def deactivate_user(user_id: int):
    return _set_active(user_id, False)


@bp.post("/access/users/<int:user_id>/activate")
@login_required
def activate_user(user_id: int):
    return _set_active(user_id, True)
