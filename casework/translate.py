"""The translation catalogues: ``translations/messages.pot`` (extracted from the code and
templates), one ``.po`` per language (edited by translators), and the ``.mo`` files Flask-Babel
reads, compiled from them when the app starts, never edited or committed.

``flask --app casework translate extract|update|compile|check`` drive Babel's own tools.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.cli import AppGroup

from casework.countries import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "translations"
TEMPLATE = CATALOGUES / "messages.pot"
# The gettext functions the code calls, with where their message (and context, "c") sits.
KEYWORDS = ("_", "gettext", "lazy_gettext", "N_", "ngettext:1,2", "lazy_ngettext:1,2",
            "pgettext:1c,2", "lazy_pgettext:1c,2")
TRANSLATED = tuple(language for language in LANGUAGES if language != "en")


def _po(directory: Path, language: str) -> Path:
    return directory / language / "LC_MESSAGES" / "messages.po"


def compile_catalogue(po_path: Path) -> Path:
    """Compile one ``.po`` to its ``.mo`` atomically: several processes may start at once."""
    mo_path = po_path.with_suffix(".mo")
    with po_path.open("rb") as source:
        catalogue = read_po(source)
    handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalogue, use_fuzzy=False)
        os.replace(temporary, mo_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return mo_path


def ensure_compiled(directory: Path) -> list[Path]:
    """Compile every catalogue whose ``.mo`` is missing or older than its ``.po``."""
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            compiled.append(compile_catalogue(po_path))
    return compiled


_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdif%]")


def placeholders(text: str) -> list[str]:
    """The ``%(name)s`` (and ``%s``) placeholders of a message, sorted: a translation must keep
    exactly the same ones, or formatting it fails or drops a value."""
    return sorted(match.group(0) for match in _PLACEHOLDER.finditer(text) if match.group(0) != "%%")


def problems(directory: Path, languages: tuple[str, ...]) -> list[str]:
    """Every message of the template that some language lacks, leaves empty or fuzzy, or
    translates with other placeholders, one line each."""
    with TEMPLATE.open("rb") as source:
        wanted = {(m.context, m.id) for m in read_po(source) if m.id}  # a plural's id is a tuple
    found = []
    for language in languages:
        po_path = _po(directory, language)
        if not po_path.exists():
            found.append(f"{language}: no catalogue at {po_path}")
            continue
        with po_path.open("rb") as source:
            catalogue = read_po(source)
        have = {(m.context, m.id): m for m in catalogue if m.id}
        for context, msgid in sorted(wanted, key=lambda key: (key[0] or "", str(key[1]))):
            message = have.get((context, msgid))
            label = f"{language}: {context + ' | ' if context else ''}{msgid!r}"
            if message is None:
                found.append(f"{label} is missing (run translate update)")
                continue
            # A plural message has several forms; each must be there and keep the placeholders.
            sources = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
            strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
            if not all(strings) or message.fuzzy:
                found.append(f"{label} is {'fuzzy' if message.fuzzy else 'untranslated'}")
                continue
            expected = placeholders(sources[-1])
            for string in strings:
                if placeholders(string) != expected and placeholders(string) != placeholders(sources[0]):
                    found.append(f"{label} has placeholders {placeholders(string)}, expected {expected}")
    return found


def _babel(*arguments: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *arguments])


translate_cli = AppGroup("translate", help="Translation catalogues (Babel).")


@translate_cli.command("extract")
def extract() -> None:
    """Collect every text to translate into translations/messages.pot."""
    keywords = [argument for keyword in KEYWORDS for argument in ("-k", keyword)]
    previous = os.getcwd()
    os.chdir(ROOT)  # so the catalogue names files relative to the project, the same on every machine
    try:
        _babel("extract", "-F", "babel.cfg", "--no-default-keywords", *keywords, "--sort-by-file",
               "--project", "Casework", "--copyright-holder", "Casework", "--no-wrap", "--omit-header",
               "-o", str(TEMPLATE), ".")
    finally:
        os.chdir(previous)
    click.echo(f"extracted into {TEMPLATE}")


@translate_cli.command("update")
def update() -> None:
    """Merge messages.pot into every language's .po (new texts arrive untranslated)."""
    for language in TRANSLATED:
        po_path = _po(CATALOGUES, language)
        command = "update" if po_path.exists() else "init"
        _babel(command, "-i", str(TEMPLATE), "-d", str(CATALOGUES), "-l", language, "--no-wrap",
               *(["--ignore-obsolete"] if command == "update" else []))
    click.echo(f"updated {', '.join(TRANSLATED)}")


@translate_cli.command("compile")
def compile_all() -> None:
    """Compile every .po into the .mo Flask-Babel reads (the app also does this when it starts)."""
    for language in TRANSLATED:
        compile_catalogue(_po(CATALOGUES, language))
    click.echo(f"compiled {', '.join(TRANSLATED)}")


@translate_cli.command("check")
def check() -> None:
    """Fail naming every text that some language leaves untranslated or marks fuzzy."""
    found = problems(CATALOGUES, TRANSLATED)
    for line in found:
        click.echo(line)
    if found:
        raise SystemExit(1)
    click.echo(f"complete: {', '.join(TRANSLATED)}")
