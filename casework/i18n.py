"""Languages: Flask-Babel, the locale of each request, and the labels every user group reads.

A page's language comes from an explicit choice (``?lang=``), then the session, then the
browser's Accept-Language; a notice's from its recipient's preferred language.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, lazy_pgettext

from casework.countries import LANGUAGES

babel_ext = Babel()


def select_locale() -> str:
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/../translations"))
    babel_ext.init_app(app, locale_selector=select_locale)


STATE_LABELS = {
    "lodged": lazy_pgettext("state", "Lodged"),
    "under_review": lazy_pgettext("state", "Under review"),
    "awaiting_information": lazy_pgettext("state", "Waiting for information"),
    "awaiting_claimant": lazy_pgettext("state", "Waiting for your decision"),
    "in_mediation": lazy_pgettext("state", "In mediation"),
    "escalated": lazy_pgettext("state", "Sent to the tribunal"),
    "before_tribunal": lazy_pgettext("state", "Before the tribunal"),
    "closed": lazy_pgettext("state", "Closed"),
}

OUTCOME_LABELS = {
    "inadmissible": lazy_pgettext("outcome", "Inadmissible"),
    "granted": lazy_pgettext("outcome", "Granted"),
    "partially_granted": lazy_pgettext("outcome", "Partially granted"),
    "refused": lazy_pgettext("outcome", "Refused"),
    "settled": lazy_pgettext("outcome", "Settled in mediation"),
    "allowed": lazy_pgettext("outcome", "Allowed by the tribunal"),
    "partially_allowed": lazy_pgettext("outcome", "Partially allowed by the tribunal"),
    "dismissed": lazy_pgettext("outcome", "Dismissed by the tribunal"),
    "withdrawn": lazy_pgettext("outcome", "Withdrawn"),
}

DEADLINE_LABELS = {
    "forwarding": lazy_pgettext("deadline", "Forwarding to the competent institution"),
    "admissibility": lazy_pgettext("deadline", "Decision on admissibility"),
    "review": lazy_pgettext("deadline", "Review decision"),
    "information": lazy_pgettext("deadline", "Information to be provided"),
    "claimant_response": lazy_pgettext("deadline", "Your response to the review decision"),
    "mediation": lazy_pgettext("deadline", "End of mediation"),
    "tribunal_acknowledgement": lazy_pgettext("deadline", "Tribunal acknowledges the referral"),
}

# What happens next, in plain words for the claimant, per state.
NEXT_STEPS = {
    "lodged": lazy_pgettext(
        "next", "Your appeal has been received. The institution will check that it can be examined and then review it."
    ),
    "under_review": lazy_pgettext(
        "next", "The institution is reviewing its decision. You will be told the result in writing."
    ),
    "awaiting_information": lazy_pgettext(
        "next", "The institution has asked for more information. The review continues when it arrives or the time limit ends."
    ),
    "awaiting_claimant": lazy_pgettext(
        "next",
        "The review is finished. You can accept the result, ask for free mediation, or take your appeal to the tribunal before the date shown.",
    ),
    "in_mediation": lazy_pgettext(
        "next", "A mediator is helping you and the institution reach an agreement. If there is none, the appeal goes to the tribunal."
    ),
    "escalated": lazy_pgettext("next", "Your appeal has been sent to the tribunal, which will confirm that it has received it."),
    "before_tribunal": lazy_pgettext("next", "The tribunal is examining your appeal and will tell you about any hearing."),
    "closed": lazy_pgettext("next", "Your appeal is finished. The notices below explain the result."),
}

ACTION_LABELS = {
    "lodge": lazy_pgettext("action", "Appeal lodged"),
    "forward": lazy_pgettext("action", "Forwarded to the competent institution"),
    "admit": lazy_pgettext("action", "Admitted for review"),
    "declare_inadmissible": lazy_pgettext("action", "Declared inadmissible"),
    "request_information": lazy_pgettext("action", "Information requested"),
    "receive_information": lazy_pgettext("action", "Information received"),
    "decide_review": lazy_pgettext("action", "Review decided"),
    "accept_decision": lazy_pgettext("action", "Review decision accepted"),
    "request_mediation": lazy_pgettext("action", "Mediation requested"),
    "request_tribunal": lazy_pgettext("action", "Tribunal requested"),
    "extend_mediation": lazy_pgettext("action", "Mediation extended"),
    "settle": lazy_pgettext("action", "Settled in mediation"),
    "end_mediation": lazy_pgettext("action", "Mediation ended without agreement"),
    "acknowledge_referral": lazy_pgettext("action", "Tribunal acknowledged the referral"),
    "schedule_hearing": lazy_pgettext("action", "Hearing scheduled"),
    "deliver_judgment": lazy_pgettext("action", "Judgment delivered"),
    "remit": lazy_pgettext("action", "Sent back to the institution for a new review"),
    "withdraw": lazy_pgettext("action", "Appeal withdrawn"),
    "assign": lazy_pgettext("action", "Assigned"),
    "review_timeout": lazy_pgettext("action", "No review decision in time: deemed refused"),
    "information_timeout": lazy_pgettext("action", "Time for information ended: review continues"),
    "response_timeout": lazy_pgettext("action", "Time to respond ended: review decision final"),
    "mediation_timeout": lazy_pgettext("action", "Time for mediation ended: sent to the tribunal"),
}
