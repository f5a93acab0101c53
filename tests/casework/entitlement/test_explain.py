"""The words beside the figures: every kind of outcome and overlap explained in every language,
the numbers in the reader's own notation, and nothing left in English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from casework.countries import LANGUAGES
from casework.entitlement import calculation as calc
from casework.entitlement import explain
from casework.entitlement.calculation import Amounts, calculate
from casework.entitlement.periods import Period, aggregate
from casework.entitlement.rules import current


def period(country, first, last, kind="employment"):
    return Period(country, date.fromisoformat(first), date.fromisoformat(last), kind)


def _every_case() -> dict:
    """One result with an overlap of each rule and each basis but the sole payer's."""
    history = [
        period("DE", "1980-01-01", "1985-12-31"),  # independent (higher)
        period("NL", "1983-01-01", "1984-12-31", "residence"),  # work over residence
        period("PL", "1986-01-01", "1999-12-31"),  # pro-rata
        period("PL", "1990-01-01", "1990-12-31", "voluntary"),
        period("FR", "1990-01-01", "1990-06-30", "voluntary"),  # Poland's own voluntary vs France's
        period("ES", "2000-01-01", "2000-06-30"),  # short period: 6 months worked ...
        period("ES", "2000-07-01", "2000-09-30", "other_credited"),  # ... and 3 credited there
        period("FR", "2000-07-01", "2000-09-30", "credited_care"),  # credited in two: where last insured before
        period("IT", "2001-01-01", "2002-12-31"),  # 2 years < 20
        period("US", "2003-01-01", "2003-09-30"),  # 3 credits < 6: below the aggregation minimum
        period("AT", "2004-01-01", "2004-12-31", "credited_care"),  # a credit against a job: the job counts
        period("GB", "2004-01-01", "2005-12-31"), period("PT", "2005-06-01", "2006-05-31"),  # two jobs at once
    ]
    amounts = {c: Amounts("EUR", Decimal("1000.00"), Decimal("100.00")) for c in ("DE", "PL", "NL", "FR", "IT", "GB",
                                                                                "PT", "AT")}
    amounts["DE"] = Amounts("EUR", Decimal("1000.00"), Decimal("900.00"))
    return calculate(aggregate(history), current(), amounts).as_json()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_outcome_and_overlap_is_explained_in_every_language(app, language):
    result = _every_case()
    assert {row["basis"] for row in result["countries"]} >= {calc.INDEPENDENT, calc.PRO_RATA, calc.SHORT_PERIOD,
                                                             calc.BELOW_AGGREGATION_MINIMUM}
    assert len({o["rule"] for o in result["overlaps"]}) == 5  # all but the first compulsory period after
    with app.test_request_context():
        paragraphs = explain.explanation(result, language)
    # A paragraph for the total, each overlap, each country, the sum due and what to do.
    assert len(paragraphs) == 1 + len(result["overlaps"]) + len(result["countries"]) + 2
    text = " ".join(paragraphs)
    assert "%(" not in text and "%s" not in text
    if language != "en":
        for english in ("your periods", "Regulation", "a month", "Article"):
            assert english not in text, (language, english)


def test_sole_payer_and_no_entitlement_are_explained(app):
    result = calculate(aggregate([period("IT", "2000-01-01", "2009-12-31")]), current(), {}).as_json()
    with app.test_request_context():
        paragraphs = explain.explanation(result, "en")
    assert "do not reach it, so Italy owes no pension" in " ".join(paragraphs)
    assert "On these periods no country owes you an old-age pension." in paragraphs


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "€1,500.00 × 2,192 ÷ 7,549 days = €435.55"),
    ("de", "1.500,00\u00a0€ × 2.192 ÷ 7.549 Tage = 435,55\u00a0€"),
    ("pl", "1\u00a0500,00\u00a0€ × 2\u00a0192 ÷ 7\u00a0549 dni = 435,55\u00a0€"),
])
def test_the_formula_reads_in_the_reader_s_notation(app, language, expected):
    row = {"currency": "EUR", "theoretical_amount": "1500.00", "pro_rata_amount": "435.55",
           "ratio": {"days": 2192, "of_days": 7549}}
    with app.test_request_context():
        from flask_babel import force_locale
        with force_locale(language):
            assert explain.formula(row, language) == expected


def test_lengths_read_as_people_say_them(app):
    with app.test_request_context():
        from flask_babel import force_locale
        with force_locale("en"):
            assert explain.duration_text({"months": 248, "days": 0}, "en") == "20 years and 8 months"
            assert explain.duration_text({"months": 0, "days": 0}, "en") == "0 days"
            assert explain.duration_text({"months": 13, "days": 1}, "en") == "1 year, 1 month, and 1 day"
        with force_locale("pt"):
            assert explain.duration_text({"months": 0, "days": 0}, "pt") == "0 dias"  # Portugal's plural, not Brazil's
