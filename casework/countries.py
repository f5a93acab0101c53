"""Countries and languages Casework accepts: ISO 3166-1 alpha-2 codes and its interface locales."""

from functools import lru_cache

import babel

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


def country_name(code: str, language: str = "en") -> str:
    return babel.Locale.parse(language).territories.get(code, code)
