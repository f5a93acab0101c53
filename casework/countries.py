"""Countries and languages Casework accepts: ISO 3166-1 alpha-2 codes and its interface locales."""

from functools import lru_cache

import babel
from babel.numbers import get_territory_currencies

LANGUAGES = ("en", "fr", "de", "es", "pl", "it", "pt", "ar")
RTL_LANGUAGES = ("ar",)

# CLDR lists some codes that are not countries (groupings, private use, exceptional reservations).
_NOT_COUNTRIES = {"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    territories = babel.Locale("en").territories
    return frozenset(code for code in territories if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def is_country(code: str) -> bool:
    return code in country_codes()


# The regional variant whose dates and names Babel formats for a language: Casework's Portuguese
# is Portugal's ("Polónia", "Madrid"), where Babel's bare "pt" is Brazil's.
BABEL_LOCALES = {"pt": "pt_PT"}


def babel_locale(language: str) -> str:
    return BABEL_LOCALES.get(language, language)


def country_name(code: str, language: str = "en") -> str:
    """The country's name in ``language`` (CLDR data shipped with Babel), else its code."""
    return babel.Locale.parse(babel_locale(language)).territories.get(code, code)


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    return frozenset(babel.Locale("en").currencies)


def is_currency(code: str) -> bool:
    return code in currency_codes()


def country_currency(code: str) -> str:
    """The currency a country uses today (CLDR), for amounts entered without one."""
    found = get_territory_currencies(code)
    return found[0] if found else "EUR"
