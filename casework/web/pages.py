"""Pages everyone may open: the front page that sends each user group to its door."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.logs import request_id

bp = Blueprint("pages", __name__)

# Where each role's work starts after signing in.
HOME = {"officer": "officer.work_queue", "mediator": "mediator.mediations", "tribunal": "tribunal.inbox",
        "oversight": "pages.home", "admin": "pages.home"}


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/work")
def work():
    """A signed-in member of staff's starting page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for(HOME.get(current_user.role, "pages.home")))


def problem(status: int, message: str | None = None):
    """A page saying what went wrong and what to do, with the status the API would give. A
    failure on our side names its request id, for the person to quote when they ask for help."""
    titles = {400: _("This form has expired"), 403: _("You may not do this"), 404: _("Page not found"),
              429: _("Too many attempts")}
    return render_template("problem.html", title=titles.get(status, _("Something went wrong")),
                           message=message, request_id=request_id() if status >= 500 else None), status
