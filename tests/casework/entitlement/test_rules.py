"""The minimum qualifying periods are data with a source: each rule complete, each figure the one
its legislation sets (as the issue lists them), and a stored calculation keeps the rules it used."""

from __future__ import annotations

import json

import pytest

from casework.entitlement import rules
from casework.entitlement.periods import Duration


def test_every_rule_names_its_source_and_version():
    data = rules.current()
    assert data.benefit == "old_age_pension" and data.version
    for country, rule in data.by_country.items():
        assert rule.country == country and len(country) == 2
        assert rule.name and rule.source and rule.version
        assert rule.unit in rules.UNIT_MONTHS and rule.minimum >= 0


@pytest.mark.parametrize(("country", "months"), [
    ("DE", 60), ("ES", 180), ("IT", 240), ("PT", 180), ("GB", 120), ("US", 120), ("AT", 180),
    ("FR", 0), ("NL", 0), ("PL", 0), ("BE", 0),
])
def test_the_minimum_of_each_country(country, months):
    assert rules.current().get(country).minimum_months == months


def test_a_rule_is_met_in_its_own_unit():
    us = rules.current().get("US")
    assert (us.minimum, us.unit, us.minimum_for_aggregation, us.aggregation_months) == (40, "credits", 6, 18)
    assert us.minimum_months == 120 and not us.met_by(Duration(119, 29, 3650))  # 39 credits
    assert us.met_by(Duration(120, 0, 3652))
    # No minimum still needs a period: nothing is not a pension.
    assert not rules.current().get("FR").met_by(Duration(0, 0, 0))
    assert rules.current().get("FR").met_by(Duration(0, 1, 1))


def test_a_rule_round_trips_through_a_stored_calculation():
    rule = rules.current().get("ES")
    assert rules.Rule(**json.loads(json.dumps(rule.as_json()))) == rule


def test_a_rule_with_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unknown unit"):
        rules._validated("XX", {"minimum": 5, "unit": "decades", "name": "n", "source": "s", "note": "", "version": "v"})
