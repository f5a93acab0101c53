"""Which language a page is in: an explicit choice, then the visit's, then the browser's."""

from __future__ import annotations

from flask import session

from casework.countries import country_name
from casework.i18n import direction, remember_choice, select_locale


def test_an_explicit_choice_wins_and_is_remembered_for_the_visit(app):
    with app.test_request_context("/status?lang=ar", headers={"Accept-Language": "de"}):
        remember_choice()
        assert select_locale() == "ar" and session["lang"] == "ar"
    with app.test_request_context("/status", headers={"Accept-Language": "de"}):
        session["lang"] = "ar"
        assert select_locale() == "ar"


def test_without_a_choice_the_browser_decides_and_english_is_last(app):
    with app.test_request_context("/", headers={"Accept-Language": "pt-PT,pt;q=0.9,en;q=0.5"}):
        assert select_locale() == "pt"
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert select_locale() == "en"
    with app.test_request_context("/?lang=xx", headers={"Accept-Language": "pl"}):
        remember_choice()
        assert select_locale() == "pl" and "lang" not in session


def test_the_api_is_stateless_about_language(app):
    with app.test_request_context("/api/v1/status/CW-2026-000001?lang=fr"):
        remember_choice()
        assert select_locale() == "fr" and "lang" not in session
    with app.test_request_context("/api/v1/appeals", headers={"Accept-Language": "es"}):
        session["lang"] = "ar"
        assert select_locale() == "es"


def test_arabic_reads_right_to_left():
    assert direction("ar") == "rtl" and direction("pl") == "ltr"


def test_country_names_follow_the_language_and_portuguese_is_portugals():
    assert country_name("PL", "de") == "Polen"
    assert country_name("PL", "pt") == "Polónia"
    assert country_name("XX", "fr") == "XX"


def test_the_language_links_keep_the_pages_filters(client, factory):
    factory.sign_in("officer", "DE")
    page = client.get("/queue/?state=lodged&benefit=invalidity").get_data(as_text=True)
    assert 'href="/queue/?state=lodged&amp;benefit=invalidity&amp;lang=pl"' in page
