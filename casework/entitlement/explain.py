"""The calculation in words: what the claimant, the officer and the tribunal read beside the
figures, in the reader's language. Everything is written from a stored result (its numbers never
change when rules or translations do); only the words are of the language asked for.

The sentences address the claimant ("your periods in Germany"), because they are the reader who
needs them most; officers and tribunals read the same words and the table of figures beside them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from flask_babel import force_locale, lazy_pgettext, ngettext
from flask_babel import gettext as _

from casework.countries import babel_locale, country_name
from casework.entitlement import calculation as calc
from casework.entitlement import periods

KIND_LABELS = {
    "employment": lazy_pgettext("period kind", "Employment"),
    "self_employment": lazy_pgettext("period kind", "Self-employment"),
    "residence": lazy_pgettext("period kind", "Residence"),
    "voluntary": lazy_pgettext("period kind", "Voluntary insurance"),
    "credited_care": lazy_pgettext("period kind", "Credited: care of children or relatives"),
    "other_credited": lazy_pgettext("period kind", "Credited: other (sickness, unemployment, military service)"),
}
PERIOD_STATUS_LABELS = {
    "proposed": lazy_pgettext("period status", "Proposed, not yet checked"),
    "confirmed": lazy_pgettext("period status", "Confirmed"),
    "rejected": lazy_pgettext("period status", "Not accepted"),
    "withdrawn": lazy_pgettext("period status", "Withdrawn"),
}
BASIS_LABELS = {
    calc.INDEPENDENT: lazy_pgettext("entitlement basis", "Own pension (higher than the share)"),
    calc.PRO_RATA: lazy_pgettext("entitlement basis", "Share of the pension for all periods"),
    calc.SOLE_PAYER: lazy_pgettext("entitlement basis", "Pays the whole pension (Art. 57(3))"),
    calc.SHORT_PERIOD: lazy_pgettext("entitlement basis", "Nothing: under one year (Art. 57(1))"),
    calc.NOT_MET: lazy_pgettext("entitlement basis", "Nothing: minimum not reached"),
    calc.BELOW_AGGREGATION_MINIMUM: lazy_pgettext("entitlement basis", "Nothing: too few periods to add others"),
}


def duration_text(length: dict, language: str) -> str:
    """"6 years, 2 months and 3 days" in the reader's language (zero parts left out)."""
    years, months, days = length["months"] // 12, length["months"] % 12, length["days"]
    parts = []
    if years:
        parts.append(ngettext("%(num)d year", "%(num)d years", years))
    if months:
        parts.append(ngettext("%(num)d month", "%(num)d months", months))
    if days or not parts:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    return format_list(parts, locale=babel_locale(language))


def minimum_text(rule: dict) -> str:
    """A rule's minimum in its own unit: "5 years", "40 credits"."""
    number = rule["minimum"]
    if rule["unit"] == "years":
        return ngettext("%(num)d year", "%(num)d years", number)
    if rule["unit"] == "credits":
        return ngettext("%(num)d credit (quarter of coverage)", "%(num)d credits (quarters of coverage)", number)
    return ngettext("%(num)d month", "%(num)d months", number)


def aggregation_minimum_text(rule: dict) -> str:
    return minimum_text({**rule, "minimum": rule["minimum_for_aggregation"]})


def money(amount: str | Decimal | None, currency: str, language: str) -> str:
    if amount is None:
        return ""
    return format_currency(Decimal(amount), currency, locale=babel_locale(language))


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=babel_locale(language))


def day_text(value: str | date, language: str) -> str:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, "long", locale=babel_locale(language))


def formula(row: dict, language: str) -> str:
    """The pro-rata formula with the numbers in: "1 500,00 € × 2 191 ÷ 7 548 days = 435,41 €"."""
    currency, total = row["currency"], row["ratio"]["of_days"]
    return ngettext("%(theoretical)s × %(days)s ÷ %(total)s day = %(amount)s",
                    "%(theoretical)s × %(days)s ÷ %(total)s days = %(amount)s", total,
                    theoretical=money(row["theoretical_amount"], currency, language),
                    days=number(row["ratio"]["days"], language), total=number(total, language),
                    amount=money(row["pro_rata_amount"], currency, language))


def _overlap_sentence(overlap: dict, language: str) -> str:
    names = format_list([country_name(c, language) for c in overlap["countries"]], locale=babel_locale(language))
    params = {"first": day_text(overlap["starts_on"], language), "last": day_text(overlap["ends_on"], language),
              "countries": names, "country": country_name(overlap["counted_for"], language)}
    rule = overlap["rule"]
    if rule == periods.COMPULSORY_OVER_VOLUNTARY:
        return _("From %(first)s to %(last)s your periods in %(countries)s overlap. These days count once, for "
                 "%(country)s, where your insurance was compulsory rather than voluntary (Regulation 987/2009, "
                 "Article 12(3)).", **params)
    if rule == periods.INSURANCE_OVER_CREDITED:
        return _("From %(first)s to %(last)s your periods in %(countries)s overlap. These days count once, for "
                 "%(country)s, where you were insured, rather than where they were only credited (Regulation "
                 "987/2009, Article 12(4)).", **params)
    if rule == periods.WORK_OVER_RESIDENCE:
        return _("From %(first)s to %(last)s your periods in %(countries)s overlap. These days count once, for "
                 "%(country)s, where you worked (Regulation 883/2004, Article 11(3)(a)).", **params)
    if rule in (periods.CREDITED_LAST_BEFORE, periods.CREDITED_FIRST_AFTER):
        return _("From %(first)s to %(last)s periods were credited to you in %(countries)s. These days count once, "
                 "for %(country)s, the country where you were last insured before them, or first after them "
                 "(Regulation 987/2009, Article 12(5)).", **params)
    return _("From %(first)s to %(last)s your periods in %(countries)s overlap, which the law does not allow: only "
             "one country's legislation applies at a time. These days count once, for %(country)s, whose period "
             "began first, until the officer has checked the records of both countries.", **params)


def _country_sentences(row: dict, total: dict, language: str) -> list[str]:
    rule = row["rule"]
    params = {
        "country": country_name(row["country"], language),
        "length": duration_text(row["recorded"], language),
        "total": duration_text(total, language),
        "minimum": minimum_text(rule),
        "due": money(row["due_amount"], row["currency"], language),
    }
    basis = row["basis"]
    if basis == calc.SHORT_PERIOD:
        return [_("%(country)s: your %(length)s there are less than a year and give no pension in %(country)s on "
                  "their own, so %(country)s pays no pension for them (Regulation 883/2004, Article 57(1)). The other "
                  "countries count them in the total on which they compute your pension.", **params)]
    if basis == calc.NOT_MET:
        return [_("%(country)s: %(country)s requires at least %(minimum)s. Even all your periods together "
                  "(%(total)s) do not reach it, so %(country)s owes no pension.", **params)]
    if basis == calc.BELOW_AGGREGATION_MINIMUM:
        return [_("%(country)s: your %(length)s there are fewer than the %(minimum)s %(country)s requires before it "
                  "adds periods from other countries, so %(country)s owes no pension.",
                  **{**params, "minimum": aggregation_minimum_text(rule)})]
    if basis == calc.SOLE_PAYER:
        return [_("%(country)s: every country's periods are under a year and none gives a pension on its own, so "
                  "%(country)s, where you were insured last, pays the whole pension as if all your periods had "
                  "been completed there (Regulation 883/2004, Article 57(3)): %(due)s a month.", **params)]
    sentences = []
    if row["qualifies_alone"] and not rule["minimum"]:
        sentences.append(_("%(country)s: %(country)s requires no minimum period, so your %(length)s there give a "
                           "pension on their own.", **params))
    elif row["qualifies_alone"]:
        sentences.append(_("%(country)s: your %(length)s there meet the minimum of %(minimum)s that %(country)s "
                           "requires, on their own.", **params))
    else:
        sentences.append(_("%(country)s: your %(length)s there do not meet the minimum of %(minimum)s that "
                           "%(country)s requires on their own, but all your periods together (%(total)s) do "
                           "(Regulation 883/2004, Article 6).", **params))
    share = _("Its share of the pension for all your periods is the pension as if you had completed them all in "
              "%(country)s, times your days there over all your days: %(formula)s.",
              country=params["country"], formula=formula(row, language))
    sentences.append(share)
    if row["qualifies_alone"]:
        own = money(row["independent_amount"], row["currency"], language)
        if basis == calc.INDEPENDENT:
            sentences.append(_("Its own pension for your periods there alone, %(own)s, is higher, so %(country)s "
                               "pays that: %(due)s a month (Regulation 883/2004, Article 52(3)).", own=own, **params))
        else:
            sentences.append(_("Its own pension for your periods there alone, %(own)s, is not higher, so "
                               "%(country)s pays the share: %(due)s a month (Regulation 883/2004, Article 52(3)).",
                               own=own, **params))
    else:
        sentences.append(_("%(country)s pays that share: %(due)s a month (Regulation 883/2004, Article 52(1)(b)).",
                           **params))
    return [" ".join(sentences)]


def explanation(result: dict, language: str) -> list[str]:
    """Paragraphs saying how the amounts were reached, in ``language``."""
    with force_locale(language):
        total = result["total"]
        countries = [row["country"] for row in result["countries"]]
        paragraphs = [ngettext(
            "We added up your confirmed periods in %(num)d country: %(total)s in all.",
            "We added up your confirmed periods in %(num)d countries: %(total)s in all. Where periods in two "
            "countries cover the same days, those days count once.",
            len(countries), total=duration_text(total, language))]
        paragraphs += [_overlap_sentence(overlap, language) for overlap in result["overlaps"]]
        for row in result["countries"]:
            paragraphs += _country_sentences(row, total, language)
        paying = [row for row in result["countries"] if row["basis"] in calc.PAYING]
        if paying:
            amounts = format_list([
                _("%(amount)s a month from %(country)s", amount=money(row["due_amount"], row["currency"], language),
                  country=country_name(row["country"], language)) for row in paying], locale=babel_locale(language))
            paragraphs.append(_("In all, you are due %(amounts)s.", amounts=amounts))
        else:
            paragraphs.append(_("On these periods no country owes you an old-age pension."))
        paragraphs.append(_("If a period is missing or wrong, tell us: you can propose it on your appeal's page, "
                            "and an officer will check it against the other country's records."))
        return [str(paragraph) for paragraph in paragraphs]
