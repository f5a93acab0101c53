"""The web pages: server-rendered, one blueprint per user group, working without JavaScript.

Staff sign in (Flask-Login, passwords hashed by werkzeug's scrypt); claimants open their appeal
with its reference and access code. Every form carries a CSRF token (Flask-WTF); the JSON API,
which authenticates each request by token, is exempt. Pages only read and call the operations
the API calls: no state changes here that the API would not make the same way.
"""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_interval, get_timezone_location
from flask import Flask, has_request_context, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from casework import i18n
from casework.countries import LANGUAGES, babel_locale, country_name
from casework.db import db
from casework.i18n import direction, select_locale
from casework.notices import format_day, format_moment
from casework.models import User

login_manager = LoginManager()
csrf = CSRFProtect()

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español", "pl": "Polski",
                  "it": "Italiano", "pt": "Português", "ar": "العربية"}


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _page_context() -> dict:
    if not has_request_context():
        return {}  # a notice rendered by a command or the sweep: it brings its own context
    language = select_locale()
    return {
        "language": language,
        "direction": direction(language),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "staff": current_user if current_user.is_authenticated else None,
        "labels": LABELS,
        "language_names": LANGUAGE_NAMES,
    }


LABELS = {
    "state": i18n.STATE_LABELS, "claimant_state": i18n.CLAIMANT_STATE_LABELS, "outcome": i18n.OUTCOME_LABELS,
    "benefit": i18n.BENEFIT_LABELS, "action": i18n.ACTION_LABELS, "do": i18n.ACTION_BUTTONS, "deadline": i18n.DEADLINE_LABELS,
    "claimant_deadline": i18n.CLAIMANT_DEADLINE_LABELS, "role": i18n.ROLE_LABELS, "recipient": i18n.RECIPIENT_LABELS, "hearing": i18n.HEARING_MODES,
}


def _moment(value, timezone: str = "UTC") -> str:
    """A moment on a given clock, in the page's language."""
    return format_moment(value, select_locale(), str(timezone)) if value else ""


def _in_language(code: str) -> str:
    """This page in another language, keeping what its address says (filters, page)."""
    arguments = request.args.to_dict()
    arguments["lang"] = code
    return f"{request.path}?{urlencode(arguments)}"


def _local_day(value, timezone: str = "UTC") -> str:
    """The date a moment falls on, on a given clock."""
    return format_day(value.astimezone(ZoneInfo(str(timezone))).date(), select_locale()) if value else ""


def _zone_name(timezone: str) -> str:
    """A timezone as people name it, in the page's language ("Luxembourg Time")."""
    return get_timezone_location(ZoneInfo(str(timezone)), locale=babel_locale(select_locale()))


def _day(value) -> str:
    return format_day(value, select_locale()) if value else ""


def _date_span(first, last) -> str:
    """"Jan 1, 2000 – Dec 31, 2008" in the page's language (CLDR's interval formats)."""
    return format_interval(first, last, "yMMMd", locale=babel_locale(select_locale()))


def _country(code: str | None) -> str:
    return country_name(code, select_locale()) if code else ""


def init_app(app: Flask) -> None:
    from casework.api.blueprint import bp as api_bp
    from casework.api.documents import bp as api_documents_bp
    from casework.web import admin, auth, cases, claimant, entitlement, mediator, metrics, officer, pages, tribunal

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    csrf.init_app(app)
    csrf.exempt(api_bp)
    csrf.exempt(api_documents_bp)  # the API's uploads: multipart, but authenticated per request all the same
    for blueprint in (pages.bp, auth.bp, officer.bp, cases.bp, claimant.bp, mediator.bp, tribunal.bp,
                      tribunal.case_files, admin.bp, entitlement.bp):
        app.register_blueprint(blueprint)
    metrics.register(app)  # the public performance page and its open data (JSON, CSV)
    app.context_processor(_page_context)
    app.add_template_global(_in_language, "in_language")
    app.add_template_filter(_moment, "moment")
    app.add_template_filter(_day, "day")
    app.add_template_global(_date_span, "date_span")
    app.add_template_filter(_local_day, "local_day")
    app.add_template_filter(_zone_name, "zone_name")
    app.add_template_filter(_country, "country")

    @app.errorhandler(CSRFError)
    def _stale_form(error: CSRFError):
        return pages.problem(400, error.description)
