"""Storing evidence (casework/documents.py): accepted by content, never by name; stored once per
content under its SHA-256, complete or not at all; the uploader's name kept for display only."""

from __future__ import annotations

import hashlib
import io

import pytest

from casework import documents
from casework.documents import display_name, media_type_of, path_for, store
from casework.errors import APIError
from tests.factories import JPEG, PDF, PNG


def _files(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


# --- by content --------------------------------------------------------------------------------

@pytest.mark.parametrize("content, media_type", [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_pdf_png_and_jpeg_are_recognised_by_their_content(content, media_type):
    assert media_type_of(content) == media_type


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,  # a Windows program
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,  # a Linux program
        b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 64,  # a zip (or a Word document)
        b"GIF89a\x01\x00\x01\x00",  # an image of a kind not accepted
        b"<html><script>alert(1)</script></html>",
        "Contribution periods: 1979-1990".encode(),
    ],
)
def test_anything_else_is_refused_with_415(content):
    with pytest.raises(APIError) as refused:
        media_type_of(content)
    assert refused.value.status == 415


# --- stored content-addressed, all or nothing ----------------------------------------------------

def test_a_file_is_stored_under_its_sha256_with_no_temporary_file_left(tmp_path):
    stored = store(io.BytesIO(PDF), tmp_path)

    sha256 = hashlib.sha256(PDF).hexdigest()
    assert (stored.sha256, stored.size, stored.media_type) == (sha256, len(PDF), "application/pdf")
    assert path_for(sha256, tmp_path) == tmp_path / sha256[:2] / sha256
    assert path_for(sha256, tmp_path).read_bytes() == PDF
    assert _files(tmp_path) == [f"{sha256[:2]}/{sha256}"]


def test_the_same_content_twice_is_one_file(tmp_path):
    first = store(io.BytesIO(PNG), tmp_path)
    second = store(io.BytesIO(PNG), tmp_path)

    assert first == second
    assert len(_files(tmp_path)) == 1


def test_a_file_larger_than_a_read_is_hashed_and_stored_whole(tmp_path):
    content = PDF + bytes(range(256)) * 4096  # 1 MB: many chunks
    stored = store(io.BytesIO(content), tmp_path)

    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert path_for(stored.sha256, tmp_path).read_bytes() == content


@pytest.mark.parametrize(
    "content, status",
    [
        (b"", 422),
        (b"MZ\x90\x00" + b"\x00" * 100, 415),
        (PDF + b"\x00" * documents.MAX_SIZE, 413),
    ],
    ids=["empty", "program", "one-byte-too-many"],
)
def test_a_refused_file_leaves_nothing_behind(tmp_path, content, status):
    with pytest.raises(APIError) as refused:
        store(io.BytesIO(content), tmp_path)

    assert refused.value.status == status
    assert _files(tmp_path) == []


def test_exactly_the_limit_is_accepted(tmp_path):
    content = PDF + b"\x00" * (documents.MAX_SIZE - len(PDF))
    assert store(io.BytesIO(content), tmp_path).size == documents.MAX_SIZE


def test_an_announced_size_over_the_limit_is_refused_before_reading():
    documents.check_announced_size(None)
    documents.check_announced_size(documents.MAX_REQUEST_SIZE)
    with pytest.raises(APIError) as refused:
        documents.check_announced_size(documents.MAX_REQUEST_SIZE + 1)
    assert refused.value.status == 413
    assert "10 MB" in refused.value.message


# --- the name people read ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "given, shown",
    [
        ("Bescheid 2026-09-01.pdf", "Bescheid 2026-09-01.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\system32\\x.pdf", "x.pdf"),
        ("/var/lib/casework/instance/documents/ab/x.pdf", "x.pdf"),
        ("C:\\Users\\Łukasz Żółć\\Zaświadczenie.pdf", "Zaświadczenie.pdf"),
        ("شهادة الاشتراكات.pdf", "شهادة الاشتراكات.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override that disguises a name
        ("line\nbreak\x00.pdf", "linebreak.pdf"),
        ("  .hidden.pdf ", "hidden.pdf"),
        ("..", "document.pdf"),
        ("", "document.pdf"),
        (None, "document.pdf"),
    ],
)
def test_the_uploaders_name_is_cleaned_for_display(given, shown):
    assert display_name(given, "application/pdf") == shown


def test_a_long_name_is_shortened_keeping_its_extension():
    shown = display_name("Zaświadczenie " * 40 + ".jpeg", "image/jpeg")
    assert len(shown) <= 255
    assert shown.startswith("Zaświadczenie Zaświadczenie")
    assert shown.endswith(".jpeg")


def test_a_name_left_empty_takes_the_type_of_the_content():
    assert display_name("../", "image/png") == "document.png"
    assert display_name("\u200e", "image/jpeg") == "document.jpg"
