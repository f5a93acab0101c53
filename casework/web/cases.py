"""The case page every member of staff works from: who appeals what, where it stands, its
history, deadlines, documents and notices, and a form for each action they may take now (and
only those). Officers, mediators and tribunal clerks reach it from their own lists."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select

from casework import operations
from casework.access import Actor, can_act, can_fetch_case_file, load_visible
from casework.clock import days_left, now
from casework.db import db
from casework.deadlines import calendar, schedule
from casework.documents import MAX_MB, documents_of, path_for
from casework.entitlement import operations as entitlement
from casework.errors import APIError, NotFound, VersionConflict, from_workflow
from casework.i18n import ACTION_LABELS
from casework.models import Document, Event, Notice, Tribunal, User
from casework.web.diagram import workflow_svg
from casework.web.forms import FORMS, FormErrors, parse_action, store_upload
from workflows.appeal import WorkflowError

bp = Blueprint("cases", __name__, url_prefix="/appeals")


def staff_timezone(user: User) -> str:
    """The clock a member of staff reads: their country's, or their tribunal's."""
    if user.country:
        return calendar.timezone_for(user.country)
    if user.tribunal_code:
        tribunal = db.session.get(Tribunal, user.tribunal_code)
        if tribunal is not None:
            return calendar.timezone_for(tribunal.country)
    return "UTC"


def hearing_timezone(appeal) -> str:
    """Hearing times are entered on the clock of the tribunal that holds them."""
    tribunal = db.session.get(Tribunal, appeal.tribunal_code) if appeal.tribunal_code else None
    return calendar.timezone_for(tribunal.country) if tribunal else staff_timezone(current_user)


def _deadline_rows(appeal, zone: ZoneInfo) -> list[dict]:
    moment = now()
    rows = []
    for row in schedule.listed(db.session, appeal):
        running = row.status in schedule.OPEN_STATUSES
        rows.append({
            "row": row,
            "local": row.due_at.astimezone(zone),
            "days_left": days_left(row.due_at, moment),
            "overdue": row.status == "missed" or (running and row.due_at < moment),
            "running": running,
        })
    return rows


def case_page(appeal, errors: dict | None = None, failed_action: str | None = None, values=None, status: int = 200,
              period_errors: dict | None = None, period_values=None):
    """The case page; a refused form comes back with its errors (an action's, or the period form's)."""
    from casework.web.entitlement import history  # that module builds on this one's pages

    zone = ZoneInfo(staff_timezone(current_user))
    found = history(appeal)
    actions = operations.allowed_actions(appeal, current_user.role) if can_act(current_user, appeal) else []
    events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
    notices = db.session.exec(select(Notice).where(Notice.appeal_id == appeal.id).order_by(Notice.id.desc())).all()
    return render_template(
        "cases/case.html",
        appeal=appeal,
        zone=zone,
        actions=actions,
        forms=FORMS,
        events=events,
        deadlines=_deadline_rows(appeal, zone),
        documents=documents_of(db.session, appeal),
        may_download=can_fetch_case_file(current_user, appeal),
        may_upload=can_act(current_user, appeal) and appeal.state != "closed",
        notices=notices,
        diagram=workflow_svg(appeal.state),
        hearing_zone=hearing_timezone(appeal),
        tribunal=db.session.get(Tribunal, appeal.tribunal_code) if appeal.tribunal_code else None,
        max_mb=MAX_MB,
        errors=errors or {},
        failed_action=failed_action,
        values=values or {},
        history=found,
        coordination_countries=found["coordination_countries"],  # the period form's country list
        other_countries=found["other_countries"],
        may_enter_periods=current_user.role == "officer" and can_act(current_user, appeal) and not appeal.is_closed,
        latest_calculation=entitlement.latest_calculation(db.session, appeal),
        period_errors=period_errors or {},
        period_values=period_values or {},
    ), status


@bp.get("/<reference>")
@login_required
def case(reference: str):
    return case_page(load_visible(reference, current_user))


@bp.post("/<reference>/actions/<action>")
@login_required
def act(reference: str, action: str):
    """Take one action from its form. A stale form (someone acted first) says so and shows the
    appeal as it is now; a form with mistakes comes back with each one named."""
    appeal = load_visible(reference, current_user, lock=True)
    if not can_act(current_user, appeal):
        abort(403)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        data = parse_action(action, request.form, version, hearing_timezone(appeal))
        operations.perform_action(db.session, appeal, Actor.staff(current_user), action, data, expected_version=version)
        db.session.commit()
    except FormErrors as error:
        db.session.rollback()
        return case_page(appeal, error.errors, action, request.form, 422)
    except VersionConflict:
        db.session.rollback()
        flash(_("Someone else changed this appeal while you were looking at it. Here it is as it is now; "
                "check it and try again."), "warning")
        return redirect(url_for("cases.case", reference=reference), code=303)
    except (WorkflowError, APIError) as error:
        db.session.rollback()
        refusal = from_workflow(error) if isinstance(error, WorkflowError) else error
        if refusal.details:  # input the actor can supply: back to the form, the field named
            fields = {d["field"]: d["message"] for d in refusal.details}
            return case_page(load_visible(reference, current_user), fields, action, request.form, 422)
        flash(str(refusal.message), "error")
        return redirect(url_for("cases.case", reference=reference), code=303)
    flash(_("Done: %(what)s.", what=_action_label(action)), "success")
    return redirect(url_for("cases.case", reference=reference), code=303)


def _action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.post("/<reference>/documents")
@login_required
def upload(reference: str):
    appeal = load_visible(reference, current_user)
    if not can_act(current_user, appeal):
        abort(403)
    problem = store_upload(appeal, current_user.email)
    if problem:
        flash(problem, "error")
        return redirect(url_for("cases.case", reference=reference, _anchor="documents"), code=303)
    flash(_("The document was added."), "success")
    return redirect(url_for("cases.case", reference=reference, _anchor="documents"), code=303)


@bp.get("/<reference>/documents/<int:document_id>")
@login_required
def download(reference: str, document_id: int):
    appeal = load_visible(reference, current_user)
    if not can_fetch_case_file(current_user, appeal):
        raise NotFound()
    document = db.session.exec(select(Document).where(Document.id == document_id, Document.appeal_id == appeal.id)).first()
    if document is None:
        raise NotFound()
    response = send_file(path_for(document.sha256), mimetype=document.media_type, as_attachment=True,
                         download_name=document.name, etag=document.sha256, conditional=True)
    response.cache_control.private = True
    return response


def local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return moment.astimezone(zone) if moment else None
