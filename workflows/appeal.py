"""The appeal workflow: which action moves an appeal from which state to which, and who may act.

An appeal against a cross-border social security decision is first reviewed by the competent
institution (expedited administrative review); a claimant who is not satisfied may go to
voluntary mediation or straight to the cross-border tribunal. Legal time limits fire the timer
actions. This module is the one place that says so: the API, the web pages, the deadline sweep
and the tests all read it. It knows nothing of Flask or the database; it fires on any object
with a ``state`` attribute, using one shared ``transitions`` machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from transitions import Machine

STATES = (
    "lodged",
    "under_review",
    "awaiting_information",
    "awaiting_claimant",
    "in_mediation",
    "escalated",
    "before_tribunal",
    "closed",
)
OPEN_STATES = STATES[:-1]
FINAL_STATE = "closed"

OUTCOMES = (
    "inadmissible",
    "granted",
    "partially_granted",
    "refused",
    "settled",
    "allowed",
    "partially_allowed",
    "dismissed",
    "withdrawn",
)
REVIEW_OUTCOMES = ("granted", "partially_granted", "refused")
JUDGMENT_OUTCOMES = ("allowed", "partially_allowed", "dismissed")
# "Changed in the claimant's favour", the error rate oversight bodies read.
FAVOURABLE_OUTCOMES = ("granted", "partially_granted", "settled", "allowed", "partially_allowed")
# Outcomes that say nothing about whether the contested decision was right.
UNDECIDED_OUTCOMES = ("withdrawn", "inadmissible")

ROLES = ("officer", "mediator", "tribunal", "claimant", "system")
SYSTEM = "system"


def N_(message: str) -> str:
    """Mark a message for translation without translating it: this module knows no languages.
    The caller translates the template (``WorkflowError.template``) into the reader's."""
    return message


@dataclass(frozen=True)
class Guard:
    """A condition an action must meet. ``field`` names the input that can satisfy it: when it
    fails for want of that input the caller is told which field to supply (422); a guard
    without a field fails because of the appeal's own situation (409)."""

    name: str
    check: Callable[[Mapping[str, Any]], bool]
    message: str
    field: str | None = None


GUARDS = {
    guard.name: guard
    for guard in (
        Guard(
            "filed_in_time_or_excused",
            lambda facts: bool(facts.get("filed_in_time")) or bool(facts.get("late_filing_reason")),
            N_("The appeal was lodged after the filing window closed: a late-filing reason is required."),
            field="late_filing_reason",
        ),
        Guard(
            "forwarded_elsewhere",
            lambda facts: facts.get("to_country") != facts.get("handling_country"),
            N_("An appeal can only be forwarded to another country's institution."),
            field="to_country",
        ),
        Guard(
            "mediation_not_yet_extended",
            lambda facts: not facts.get("mediation_extended"),
            N_("Mediation can be extended only once."),
        ),
        Guard(
            "review_granted",
            lambda facts: facts.get("outcome") == "granted",
            N_("The review outcome is not 'granted'."),
        ),
    )
}

# Who may fire each action. Officers may act on the claimant's behalf (a letter, a phone call).
WHO = {
    "forward": ("officer",),
    "admit": ("officer",),
    "declare_inadmissible": ("officer",),
    "request_information": ("officer",),
    "receive_information": ("officer",),
    "decide_review": ("officer",),
    "accept_decision": ("claimant", "officer"),
    "request_mediation": ("claimant", "officer"),
    "request_tribunal": ("claimant", "officer"),
    "extend_mediation": ("mediator", "officer"),
    "settle": ("mediator", "officer"),
    "end_mediation": ("mediator", "officer"),
    "acknowledge_referral": ("tribunal",),
    "schedule_hearing": ("tribunal",),
    "deliver_judgment": ("tribunal",),
    "remit": ("tribunal",),
    "withdraw": ("claimant", "officer"),
    "assign": ("officer",),
    "review_timeout": (SYSTEM,),
    "information_timeout": (SYSTEM,),
    "response_timeout": (SYSTEM,),
    "mediation_timeout": (SYSTEM,),
}
TIMER_ACTIONS = ("review_timeout", "information_timeout", "response_timeout", "mediation_timeout")
CLAIMANT_ACTIONS = tuple(action for action, roles in WHO.items() if "claimant" in roles)

# The transition table. ``dest`` None: the appeal stays where it is (an internal transition).
# ``outcome`` when the appeal closes: a fixed outcome, "input" (the one the actor gives) or
# "review" (the review outcome stands; "refused" after a deemed refusal).
TRANSITIONS = [
    {"trigger": "forward", "source": "lodged", "dest": None, "conditions": ["forwarded_elsewhere"]},
    {"trigger": "admit", "source": "lodged", "dest": "under_review", "conditions": ["filed_in_time_or_excused"]},
    {"trigger": "declare_inadmissible", "source": "lodged", "dest": "closed", "outcome": "inadmissible"},
    {"trigger": "request_information", "source": "under_review", "dest": "awaiting_information"},
    {"trigger": "receive_information", "source": "awaiting_information", "dest": "under_review"},
    {"trigger": "decide_review", "source": "under_review", "dest": "closed", "conditions": ["review_granted"], "outcome": "input"},
    {"trigger": "decide_review", "source": "under_review", "dest": "awaiting_claimant", "unless": ["review_granted"]},
    {"trigger": "accept_decision", "source": "awaiting_claimant", "dest": "closed", "outcome": "review"},
    {"trigger": "request_mediation", "source": "awaiting_claimant", "dest": "in_mediation"},
    {"trigger": "request_tribunal", "source": "awaiting_claimant", "dest": "escalated"},
    {"trigger": "extend_mediation", "source": "in_mediation", "dest": None, "conditions": ["mediation_not_yet_extended"]},
    {"trigger": "settle", "source": "in_mediation", "dest": "closed", "outcome": "settled"},
    {"trigger": "end_mediation", "source": "in_mediation", "dest": "escalated"},
    {"trigger": "acknowledge_referral", "source": "escalated", "dest": "before_tribunal"},
    {"trigger": "schedule_hearing", "source": "before_tribunal", "dest": None},
    {"trigger": "deliver_judgment", "source": "before_tribunal", "dest": "closed", "outcome": "input"},
    {"trigger": "remit", "source": "before_tribunal", "dest": "under_review"},
    {"trigger": "withdraw", "source": list(OPEN_STATES), "dest": "closed", "outcome": "withdrawn"},
    {"trigger": "assign", "source": list(OPEN_STATES), "dest": None},
    {"trigger": "review_timeout", "source": "under_review", "dest": "awaiting_claimant"},
    {"trigger": "information_timeout", "source": "awaiting_information", "dest": "under_review"},
    {"trigger": "response_timeout", "source": "awaiting_claimant", "dest": "closed", "outcome": "review"},
    {"trigger": "mediation_timeout", "source": "in_mediation", "dest": "escalated"},
]
ACTIONS = tuple(WHO)


class WorkflowError(Exception):
    """An action that the workflow refuses. ``template`` is the untranslated message with
    ``%(name)s`` placeholders filled from ``params``; ``message`` is it in English."""

    def __init__(self, template: str, field: str | None = None, **params: str):
        self.template = template
        self.params = params
        self.message = template % params if params else template
        self.field = field
        super().__init__(self.message)


class UnknownAction(WorkflowError):
    """No such action."""


class NotPermitted(WorkflowError):
    """The role may never fire this action."""


class InvalidTransition(WorkflowError):
    """The action is not possible in the appeal's current state (or only a timer may fire it)."""


class MissingInput(WorkflowError):
    """A guard failed for want of an input the actor can supply (``field``)."""


def _condition(name: str) -> Callable:
    guard = GUARDS[name]
    return lambda event: guard.check(event.kwargs.get("facts", {}))


def _machine_transition(row: dict) -> dict:
    spec = {key: row[key] for key in ("trigger", "source", "dest")}
    for key in ("conditions", "unless"):
        if key in row:
            spec[key] = [_condition(name) for name in row[key]]
    return spec


# One machine for all appeals: a machine per row would inject attributes into the SQLModel row
# (which rejects them) and cost memory for every appeal loaded.
MACHINE = Machine(
    model=None,
    states=list(STATES),
    initial=None,
    transitions=[_machine_transition(row) for row in TRANSITIONS],
    auto_transitions=False,
    send_event=True,
)


def _sources(row: dict) -> list[str]:
    source = row["source"]
    return list(source) if isinstance(source, list) else [source]


def transitions_for(action: str, state: str) -> list[dict]:
    """The rows of the table that ``action`` may take from ``state``, in table order."""
    return [row for row in TRANSITIONS if row["trigger"] == action and state in _sources(row)]


def _passes(row: dict, facts: Mapping[str, Any]) -> bool:
    return all(GUARDS[name].check(facts) for name in row.get("conditions", ())) and not any(
        GUARDS[name].check(facts) for name in row.get("unless", ())
    )


def check(state: str, action: str, role: str, facts: Mapping[str, Any] | None = None) -> dict:
    """Return the transition ``action`` would take, or raise the reason it cannot."""
    facts = facts or {}
    if action not in WHO:
        raise UnknownAction(N_("There is no action '%(action)s'."), field="action", action=action)
    if action in TIMER_ACTIONS and role != SYSTEM:
        raise InvalidTransition(N_("'%(action)s' happens only when a time limit ends."), action=action)
    if role not in WHO[action]:
        raise NotPermitted(N_("The role '%(role)s' may not take the action '%(action)s'."), role=role, action=action)
    rows = transitions_for(action, state)
    if not rows:
        raise InvalidTransition(N_("'%(action)s' is not possible while the appeal is at the stage '%(state)s'."),
                                action=action, state=state)
    for row in rows:
        if _passes(row, facts):
            return row
    failed = [GUARDS[name] for row in rows for name in row.get("conditions", ()) if not GUARDS[name].check(facts)]
    guard = next((g for g in failed if g.field), failed[0] if failed else None)
    if guard is None:
        raise InvalidTransition(N_("'%(action)s' is not possible now."), action=action)
    if guard.field:
        raise MissingInput(guard.message, field=guard.field)
    raise InvalidTransition(guard.message)


def fire(model: Any, action: str, role: str, facts: Mapping[str, Any] | None = None) -> dict:
    """Move ``model`` (anything with a ``state``) by ``action``; return the table row taken.

    The caller runs this inside a database transaction: the library does not undo a state
    change if something after it fails.
    """
    facts = dict(facts or {})
    row = check(model.state, action, role, facts)
    if not MACHINE.events[action].trigger(model, facts=facts):
        raise InvalidTransition(N_("'%(action)s' is not possible now."), action=action)
    return row


def closing_outcome(row: dict, *, given: str | None, review_outcome: str | None) -> str | None:
    """The outcome an appeal closes with when it takes ``row`` (None if it stays open)."""
    kind = row.get("outcome")
    if kind is None:
        return None
    if kind == "input":
        return given
    if kind == "review":
        return review_outcome or "refused"
    return kind


def allowed_actions(state: str, role: str, facts: Mapping[str, Any] | None = None) -> list[str]:
    """Actions ``role`` may take now. Guards that an input can satisfy count as passable."""
    facts = facts or {}
    allowed = []
    for action in ACTIONS:
        if action in TIMER_ACTIONS or role not in WHO[action]:
            continue
        rows = transitions_for(action, state)
        if any(
            all(GUARDS[name].field or GUARDS[name].check(facts) for name in row.get("conditions", ()))
            for row in rows
        ):
            allowed.append(action)
    return allowed


def is_final(state: str) -> bool:
    return state == FINAL_STATE


def mermaid(current: str | None = None) -> str:
    """The workflow as a Mermaid state diagram, the current state highlighted."""
    lines = ["stateDiagram-v2", "    [*] --> lodged"]
    for row in TRANSITIONS:
        if row["trigger"] in ("assign", "withdraw"):
            continue
        for source in _sources(row):
            lines.append(f"    {source} --> {row['dest'] or source}: {row['trigger']}")
    lines.append("    closed --> [*]")
    if current:
        lines.append("    classDef current fill:#ffd54f,stroke:#333,stroke-width:2px")
        lines.append(f"    class {current} current")
    return "\n".join(lines)
