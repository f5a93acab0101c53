"""Languages: Flask-Babel, the locale of each request, and the labels and explanations every
user group reads.

A page's language comes from an explicit choice (``?lang=``), then the session, then the
browser's Accept-Language; a notice's from its recipient's preferred language. Every text here
is marked with a context (``pgettext``) so that a word like "Closed" can be translated as a
stage in one place and differently elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, lazy_pgettext

from casework.countries import LANGUAGES

babel_ext = Babel()
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
RIGHT_TO_LEFT = ("ar",)


def select_locale() -> str:
    if not has_request_context():
        return "en"  # a command or the scheduler: notices choose their own language
    chosen = request.args.get("lang") or (None if request.path.startswith("/api/") else session.get("lang"))
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def remember_choice() -> None:
    """A language picked on a page (``?lang=``) holds for the rest of the visit. The API is
    stateless: there each request says its language."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and not request.path.startswith("/api/"):
        session["lang"] = chosen


def init_app(app: Flask) -> None:
    from casework.translate import ensure_compiled

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    ensure_compiled(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    babel_ext.init_app(app, locale_selector=select_locale)
    app.before_request(remember_choice)


# --- names -----------------------------------------------------------------------------------

# Stages as staff and the public read them.
STATE_LABELS = {
    "lodged": lazy_pgettext("state", "Lodged"),
    "under_review": lazy_pgettext("state", "Under review"),
    "awaiting_information": lazy_pgettext("state", "Waiting for information"),
    "awaiting_claimant": lazy_pgettext("state", "Waiting for the claimant's decision"),
    "in_mediation": lazy_pgettext("state", "In mediation"),
    "escalated": lazy_pgettext("state", "Referred to the tribunal"),
    "before_tribunal": lazy_pgettext("state", "Before the tribunal"),
    "closed": lazy_pgettext("state", "Closed"),
}
# The same stages addressed to the claimant, where the wording differs.
CLAIMANT_STATE_LABELS = {
    **STATE_LABELS,
    "awaiting_claimant": lazy_pgettext("claimant state", "Waiting for your decision"),
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

BENEFIT_LABELS = {
    "old_age_pension": lazy_pgettext("benefit", "Old-age pension"),
    "survivor_pension": lazy_pgettext("benefit", "Survivor's pension"),
    "invalidity": lazy_pgettext("benefit", "Invalidity benefit"),
    "sickness": lazy_pgettext("benefit", "Sickness benefit"),
    "healthcare": lazy_pgettext("benefit", "Healthcare"),
    "unemployment": lazy_pgettext("benefit", "Unemployment benefit"),
    "family": lazy_pgettext("benefit", "Family benefit"),
    "work_accident": lazy_pgettext("benefit", "Accident at work or occupational disease benefit"),
}

ROLE_LABELS = {
    "officer": lazy_pgettext("role", "appeals officer"),
    "mediator": lazy_pgettext("role", "mediator"),
    "tribunal": lazy_pgettext("role", "tribunal"),
    "claimant": lazy_pgettext("role", "claimant"),
    "system": lazy_pgettext("role", "time limit"),
    "oversight": lazy_pgettext("role", "oversight body"),
    "admin": lazy_pgettext("role", "administrator"),
}

# Who a notice went to, as a list of notices names them.
RECIPIENT_LABELS = {
    "claimant": lazy_pgettext("recipient", "claimant"),
    "institution": lazy_pgettext("recipient", "handling institution"),
    "involved_institution": lazy_pgettext("recipient", "institution involved"),
    "mediator": lazy_pgettext("recipient", "mediation service"),
    "tribunal": lazy_pgettext("recipient", "tribunal"),
}

# How a notice greets each party that is not the claimant.
GREETINGS = {
    "institution": lazy_pgettext("greeting", "To the institution handling the appeal,"),
    "involved_institution": lazy_pgettext("greeting", "To the institution of another country involved in the appeal,"),
    "mediator": lazy_pgettext("greeting", "To the mediation service,"),
    "tribunal": lazy_pgettext("greeting", "To the registry of the tribunal,"),
}

DEADLINE_LABELS = {
    "forwarding": lazy_pgettext("deadline", "Forwarding to the competent institution"),
    "admissibility": lazy_pgettext("deadline", "Decision on admissibility"),
    "review": lazy_pgettext("deadline", "Review decision"),
    "information": lazy_pgettext("deadline", "Information to be provided"),
    "claimant_response": lazy_pgettext("deadline", "Claimant's answer to the review decision"),
    "mediation": lazy_pgettext("deadline", "End of mediation"),
    "tribunal_acknowledgement": lazy_pgettext("deadline", "Tribunal confirms receipt of the referral"),
    "reminder": lazy_pgettext("deadline", "Reminder"),
    "hearing_reminder": lazy_pgettext("deadline", "Hearing reminder"),
}
CLAIMANT_DEADLINE_LABELS = {
    **DEADLINE_LABELS,
    "claimant_response": lazy_pgettext("claimant deadline", "Your answer to the review decision"),
}

HEARING_MODES = {
    "in_person": lazy_pgettext("hearing", "in person"),
    "video": lazy_pgettext("hearing", "by video"),
    "telephone": lazy_pgettext("hearing", "by telephone"),
    "paper": lazy_pgettext("hearing", "on the papers, without attendance"),
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
    "request_tribunal": lazy_pgettext("action", "Referral to the tribunal requested"),
    "extend_mediation": lazy_pgettext("action", "Mediation extended"),
    "settle": lazy_pgettext("action", "Settled in mediation"),
    "end_mediation": lazy_pgettext("action", "Mediation ended without agreement"),
    "acknowledge_referral": lazy_pgettext("action", "Tribunal confirmed receipt of the referral"),
    "schedule_hearing": lazy_pgettext("action", "Hearing scheduled"),
    "deliver_judgment": lazy_pgettext("action", "Judgment delivered"),
    "remit": lazy_pgettext("action", "Sent back to the institution for a new review"),
    "withdraw": lazy_pgettext("action", "Appeal withdrawn"),
    "assign": lazy_pgettext("action", "Assigned"),
    "review_timeout": lazy_pgettext("action", "No review decision in time: treated as refused"),
    "information_timeout": lazy_pgettext("action", "Time for information ended: review continues"),
    "response_timeout": lazy_pgettext("action", "Time to answer ended: review decision final"),
    "mediation_timeout": lazy_pgettext("action", "Time for mediation ended: referred to the tribunal"),
    "erase_personal_data": lazy_pgettext("action", "Personal data erased (retention period over)"),
}

# What a button that takes each action says.
ACTION_BUTTONS = {
    "forward": lazy_pgettext("do", "Forward to the competent institution"),
    "admit": lazy_pgettext("do", "Admit for review"),
    "declare_inadmissible": lazy_pgettext("do", "Declare inadmissible"),
    "request_information": lazy_pgettext("do", "Request information"),
    "receive_information": lazy_pgettext("do", "Record that the information was received"),
    "decide_review": lazy_pgettext("do", "Decide the review"),
    "accept_decision": lazy_pgettext("do", "Accept the review decision"),
    "request_mediation": lazy_pgettext("do", "Request mediation"),
    "request_tribunal": lazy_pgettext("do", "Refer to the tribunal"),
    "extend_mediation": lazy_pgettext("do", "Extend mediation"),
    "settle": lazy_pgettext("do", "Record the settlement"),
    "end_mediation": lazy_pgettext("do", "End mediation without agreement"),
    "acknowledge_referral": lazy_pgettext("do", "Acknowledge the referral"),
    "schedule_hearing": lazy_pgettext("do", "Schedule a hearing"),
    "deliver_judgment": lazy_pgettext("do", "Deliver the judgment"),
    "remit": lazy_pgettext("do", "Send back to the institution"),
    "withdraw": lazy_pgettext("do", "Withdraw the appeal"),
    "assign": lazy_pgettext("do", "Assign"),
}

# --- explanations for the claimant -----------------------------------------------------------

# What happened, in a full sentence addressed to the claimant.
CLAIMANT_ACTIONS = {
    "lodge": lazy_pgettext("happened", "Your appeal has been registered."),
    "forward": lazy_pgettext(
        "happened",
        "The institution that received your appeal has sent it to the institution that is competent to deal "
        "with it. This does not affect your rights: your appeal counts as lodged on the date the first institution "
        "received it.",
    ),
    "admit": lazy_pgettext("happened", "Your appeal has been accepted for examination. The institution is now reviewing its decision."),
    "declare_inadmissible": lazy_pgettext("happened", "The institution has decided that your appeal cannot be examined."),
    "request_information": lazy_pgettext("happened", "The institution needs more information before it can decide on your appeal."),
    "receive_information": lazy_pgettext("happened", "The information requested has been received. The review continues."),
    "decide_review": lazy_pgettext("happened", "The institution has reviewed its decision."),
    "accept_decision": lazy_pgettext("happened", "The result of the review has been accepted. Your appeal is closed."),
    "request_mediation": lazy_pgettext("happened", "Mediation has been requested for your appeal. A mediator will contact you."),
    "request_tribunal": lazy_pgettext("happened", "Your appeal has been referred to the tribunal for a decision, as requested."),
    "extend_mediation": lazy_pgettext("happened", "The mediator has given more time to reach an agreement."),
    "settle": lazy_pgettext("happened", "You and the institution have reached an agreement in mediation."),
    "end_mediation": lazy_pgettext(
        "happened", "Mediation has ended without an agreement. Your appeal has been sent to the tribunal."
    ),
    "acknowledge_referral": lazy_pgettext("happened", "The tribunal has confirmed that it has received your appeal."),
    "schedule_hearing": lazy_pgettext("happened", "The tribunal has set a date for a hearing of your appeal."),
    "deliver_judgment": lazy_pgettext("happened", "The tribunal has given its judgment on your appeal."),
    "remit": lazy_pgettext(
        "happened", "The tribunal has sent your appeal back to the institution, which must review its decision again."
    ),
    "withdraw": lazy_pgettext("happened", "Your appeal has been withdrawn."),
    "review_timeout": lazy_pgettext(
        "happened",
        "The institution did not decide on your appeal within the legal time limit. By law, your appeal is "
        "treated as refused at this stage, so that you can go on to mediation or to the tribunal.",
    ),
    "information_timeout": lazy_pgettext(
        "happened", "The time for providing information has ended. The institution continues its review with what it has."
    ),
    "response_timeout": lazy_pgettext(
        "happened", "You did not answer within the time limit, so the result of the review is now final."
    ),
    "mediation_timeout": lazy_pgettext(
        "happened", "The time for mediation has ended without an agreement. Your appeal has been sent to the tribunal."
    ),
}

# What the claimant can expect at each stage, in plain words.
NEXT_STEPS = {
    "lodged": lazy_pgettext(
        "next", "Your appeal has been received. The institution will check that it can be examined and then review its decision."
    ),
    "under_review": lazy_pgettext(
        "next", "The institution is reviewing its decision. You will be told the result in writing."
    ),
    "awaiting_information": lazy_pgettext(
        "next",
        "The institution has asked for more information. The review continues when it arrives or when the time limit ends.",
    ),
    "awaiting_claimant": lazy_pgettext(
        "next",
        "The review is finished. You can accept the result, ask for free mediation, or take your appeal to the tribunal.",
    ),
    "in_mediation": lazy_pgettext(
        "next",
        "A mediator is helping you and the institution reach an agreement. If there is none, your appeal goes to the tribunal.",
    ),
    "escalated": lazy_pgettext(
        "next", "Your appeal has been sent to the tribunal, which will confirm that it has received it."
    ),
    "before_tribunal": lazy_pgettext("next", "The tribunal is examining your appeal and will tell you about any hearing."),
    "hearing_set": lazy_pgettext("next", "The tribunal will hear your appeal on the date shown below and then give its judgment."),
    "closed": lazy_pgettext("next", "Your appeal is finished."),
}

# What a closing outcome means for the claimant.
OUTCOME_MEANINGS = {
    "inadmissible": lazy_pgettext(
        "meaning",
        "Your appeal was not examined, so the contested decision stands. The reason is given above. If you "
        "disagree with the finding that your appeal is inadmissible, you can challenge it before the courts of the "
        "country concerned; the institution can tell you how to get free legal advice (legal aid).",
    ),
    "granted": lazy_pgettext(
        "meaning", "The institution has changed its decision in your favour. It will tell you how it applies the new decision."
    ),
    "partially_granted": lazy_pgettext(
        "meaning", "The institution has changed part of its decision in your favour. The rest of the decision stands."
    ),
    "refused": lazy_pgettext("meaning", "The contested decision stands."),
    "settled": lazy_pgettext(
        "meaning", "The agreement reached in mediation settles your appeal. The institution will apply the terms agreed."
    ),
    "allowed": lazy_pgettext(
        "meaning", "The tribunal has decided in your favour. The institution must apply the judgment."
    ),
    "partially_allowed": lazy_pgettext(
        "meaning", "The tribunal has decided partly in your favour. The institution must apply the judgment."
    ),
    "dismissed": lazy_pgettext(
        "meaning",
        "The tribunal has decided that the contested decision was correct. The judgment explains whether a further "
        "appeal is possible.",
    ),
    "withdrawn": lazy_pgettext("meaning", "Your appeal is closed. The contested decision stands."),
}

# What the claimant can do now, by the time limit that is running; "%(date)s" is its end.
CLAIMANT_OPTIONS = {
    "claimant_response": lazy_pgettext(
        "options",
        "By %(date)s, tell the institution handling your appeal whether you accept the result, want free mediation, "
        "or want the tribunal to decide. You can answer on the status page of your appeal or in writing. If you do "
        "not answer by then, the result of the review becomes final.",
    ),
    "information": lazy_pgettext(
        "options",
        "Send the information requested to the institution by %(date)s, quoting your reference. "
        "After that date the review continues without it.",
    ),
    "mediation": lazy_pgettext(
        "options", "Take part in the meetings the mediator proposes. Mediation ends by %(date)s at the latest."
    ),
}
NOTHING_TO_DO = lazy_pgettext("options", "You do not need to do anything now. We will write to you at each step.")
WITHDRAW_ANYTIME = lazy_pgettext("options", "You can withdraw your appeal at any time until it is closed.")
