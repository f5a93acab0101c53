"""The workflow table on its own: no Flask, no database."""

import pytest

from workflows import appeal as w


class Row:
    def __init__(self, state):
        self.state = state


def test_machine_has_no_auto_transitions():
    assert not any(name.startswith("to_") for name in w.MACHINE.events)


def test_every_action_has_a_row_and_roles():
    assert set(w.WHO) == {row["trigger"] for row in w.TRANSITIONS}
    assert all(set(roles) <= set(w.ROLES) for roles in w.WHO.values())


@pytest.mark.parametrize("state", w.STATES)
@pytest.mark.parametrize("action", w.ACTIONS)
def test_check_matches_the_table(state, action):
    """Every state x action: possible exactly when the table has a row from that state."""
    role = w.WHO[action][0]
    facts = {"filed_in_time": True, "outcome": "refused", "to_country": "FR", "handling_country": "DE"}
    rows = w.transitions_for(action, state)
    model = Row(state)
    if rows:
        taken = w.fire(model, action, role, facts)
        assert model.state == (taken["dest"] or state)
    else:
        with pytest.raises(w.InvalidTransition):
            w.fire(model, action, role, facts)
        assert model.state == state


@pytest.mark.parametrize("action", w.TIMER_ACTIONS)
def test_timer_actions_refused_to_people(action):
    source = w.TRANSITIONS[[row["trigger"] for row in w.TRANSITIONS].index(action)]["source"]
    for role in ("officer", "claimant", "tribunal", "mediator"):
        with pytest.raises(w.InvalidTransition):
            w.check(source, action, role)


def test_decide_review_routes_by_outcome():
    granted, refused = Row("under_review"), Row("under_review")
    w.fire(granted, "decide_review", "officer", {"outcome": "granted"})
    w.fire(refused, "decide_review", "officer", {"outcome": "partially_granted"})
    assert (granted.state, refused.state) == ("closed", "awaiting_claimant")


def test_late_admission_needs_a_reason():
    with pytest.raises(w.MissingInput) as error:
        w.fire(Row("lodged"), "admit", "officer", {"filed_in_time": False})
    assert error.value.field == "late_filing_reason"
    model = Row("lodged")
    w.fire(model, "admit", "officer", {"filed_in_time": False, "late_filing_reason": "in hospital"})
    assert model.state == "under_review"


def test_mediation_extends_once():
    model = Row("in_mediation")
    w.fire(model, "extend_mediation", "mediator", {"mediation_extended": False})
    with pytest.raises(w.InvalidTransition):
        w.fire(model, "extend_mediation", "mediator", {"mediation_extended": True})
    assert "extend_mediation" not in w.allowed_actions("in_mediation", "mediator", {"mediation_extended": True})


def test_roles_that_may_not_act_are_refused():
    with pytest.raises(w.NotPermitted):
        w.check("under_review", "decide_review", "claimant")
    with pytest.raises(w.NotPermitted):
        w.check("before_tribunal", "deliver_judgment", "officer")


def test_closed_allows_nothing():
    for role in w.ROLES:
        assert w.allowed_actions("closed", role) == []


def test_closing_outcomes():
    row = w.transitions_for("accept_decision", "awaiting_claimant")[0]
    assert w.closing_outcome(row, given=None, review_outcome="partially_granted") == "partially_granted"
    row = w.transitions_for("response_timeout", "awaiting_claimant")[0]
    assert w.closing_outcome(row, given=None, review_outcome=None) == "refused"
    row = w.transitions_for("withdraw", "in_mediation")[0]
    assert w.closing_outcome(row, given=None, review_outcome=None) == "withdrawn"


def test_unknown_action():
    with pytest.raises(w.UnknownAction):
        w.check("lodged", "fly", "officer")


def test_mermaid_mentions_every_state():
    diagram = w.mermaid("in_mediation")
    assert all(state in diagram for state in w.STATES)
    assert "class in_mediation current" in diagram
