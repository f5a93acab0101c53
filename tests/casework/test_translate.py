"""The catalogues: complete in every language, placeholders intact, in step with the code, and
compiled when the app starts."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from casework import translate
from casework.translate import CATALOGUES, TEMPLATE, TRANSLATED, placeholders, problems


def _ids(path) -> set:
    with open(path, "rb") as source:
        return {(message.context, message.id) for message in read_po(source) if message.id}


def test_every_message_is_translated_in_every_language():
    found = problems(CATALOGUES, TRANSLATED)
    assert not found, f"{len(found)} problems, e.g.:\n" + "\n".join(found[:40])


def test_the_template_holds_every_message_of_the_code(runner, tmp_path, monkeypatch):
    """Extracting again finds nothing the committed template lacks (run `translate extract` and
    `translate update` after adding a text)."""
    monkeypatch.setattr(translate, "TEMPLATE", tmp_path / "messages.pot")
    result = runner.invoke(args=["translate", "extract"])
    assert result.exit_code == 0, result.output
    fresh, committed = _ids(tmp_path / "messages.pot"), _ids(TEMPLATE)
    assert fresh - committed == set(), "texts missing from translations/messages.pot"
    assert committed - fresh == set(), "texts in translations/messages.pot the code no longer uses"


@pytest.mark.parametrize("text, expected", [
    ("Dear %(name)s,", ["%(name)s"]),
    ("%(when)s: %(what)s (%(when)s)", ["%(what)s", "%(when)s", "%(when)s"]),
    ("100%% sure, %s", ["%s"]),
    ("no placeholder", []),
])
def test_placeholders_are_found(text, expected):
    assert placeholders(text) == expected


def _catalogue(tmp_path, language: str, entries: list[tuple[str | None, str, str]], fuzzy=()) -> None:
    catalogue = Catalog(locale=language)
    for context, msgid, msgstr in entries:
        catalogue.add(msgid, msgstr, context=context, flags=("fuzzy",) if msgid in fuzzy else ())
    target = tmp_path / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.po", "wb") as out:
        write_po(out, catalogue)


def test_the_check_names_missing_empty_fuzzy_and_broken_entries(tmp_path, monkeypatch):
    template = Catalog()
    for context, msgid in ((None, "Dear %(name)s,"), ("state", "Closed"), (None, "Reason"), (None, "Result: %(outcome)s.")):
        template.add(msgid, context=context)
    monkeypatch.setattr(translate, "TEMPLATE", tmp_path / "messages.pot")
    with open(tmp_path / "messages.pot", "wb") as out:
        write_po(out, template)
    _catalogue(tmp_path, "pl", [(None, "Dear %(name)s,", "Dzień dobry, %(nazwa)s,"), ("state", "Closed", ""),
                                (None, "Result: %(outcome)s.", "Wynik: %(outcome)s.")], fuzzy=("Result: %(outcome)s.",))
    found = problems(tmp_path, ("pl", "fr"))
    assert any("'Dear %(name)s,' has placeholders ['%(nazwa)s']" in line for line in found)
    assert any("state | 'Closed' is untranslated" in line for line in found)
    assert any("'Reason' is missing" in line for line in found)
    assert any("'Result: %(outcome)s.' is fuzzy" in line for line in found)
    assert any(line.startswith("fr: no catalogue") for line in found)


def test_catalogues_compile_when_missing_or_older_than_their_source(tmp_path):
    for language in ("pl", "ar"):
        shutil.copytree(CATALOGUES / language, tmp_path / language, ignore=shutil.ignore_patterns("*.mo"))
    po = tmp_path / "pl" / "LC_MESSAGES" / "messages.po"
    assert {path.parent.parent.name for path in translate.ensure_compiled(tmp_path)} == {"pl", "ar"}
    assert translate.ensure_compiled(tmp_path) == []
    later = time.time() + 5
    os.utime(po, (later, later))
    assert translate.ensure_compiled(tmp_path) == [po.with_suffix(".mo")]
    assert not list(tmp_path.rglob("*.tmp"))
