"""Evidence on file: the PDFs and scans that officers and claimants add to an appeal, and that
go to the tribunal with the case file.

A file is accepted only as PDF, PNG or JPEG, recognised by its content (a program renamed
``x.pdf`` is refused), and up to 10 MB. It is stored once per content, under its SHA-256 in
``<instance>/documents/``: the name a tribunal checks in the signed bundle is the name on disk.
The name the uploader gave is kept for display only and never touches the file system. A refused
upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session, select

from casework.clock import now
from casework.errors import APIError, Conflict, ValidationFailed
from casework.models import Appeal, Document

MEDIA_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
MAX_MB = 10
MAX_SIZE = MAX_MB * 1024 * 1024
# A request body carries the file plus the multipart framing (boundaries, part headers).
MAX_REQUEST_SIZE = MAX_SIZE + 64 * 1024
_HEAD = 8192  # more than any signature filetype looks at (261 bytes)
_CHUNK = 64 * 1024
_NAME_LENGTH = 255


def too_large() -> APIError:
    return APIError(_("The file is larger than %(limit)s MB.", limit=MAX_MB), status=413, code="too_large")


def check_announced_size(content_length: int | None) -> None:
    """Refuse an upload whose announced size is already too large, before reading any of it."""
    if content_length is not None and content_length > MAX_REQUEST_SIZE:
        raise too_large()


def storage_root() -> Path:
    return Path(current_app.instance_path) / "documents"


def path_for(sha256: str, root: Path | None = None) -> Path:
    """Where a file with this content lives; two levels, so no directory grows to millions."""
    return (root or storage_root()) / sha256[:2] / sha256


def display_name(filename: str | None, media_type: str) -> str:
    """The uploader's name for the file, for people to read: its last path component, without
    control characters, leading dots or surrounding blanks; a plain name if nothing is left."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".").strip()
    if len(name) > _NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        name = name[: _NAME_LENGTH - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or f"document.{MEDIA_TYPES[media_type]}"


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD:
        chunk = stream.read(_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


def media_type_of(head: bytes) -> str:
    """The file's type by its content, if it is one Casework accepts."""
    kind = filetype.guess(head)
    if kind is None or kind.mime not in MEDIA_TYPES:
        raise APIError(_("Only PDF, PNG and JPEG files are accepted."), status=415, code="unsupported_media_type")
    return kind.mime


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    media_type: str


def store(stream: BinaryIO, root: Path) -> Stored:
    """Check and store a file's bytes under their SHA-256. The bytes go to a temporary file in
    ``root`` and are renamed into place once complete and checked, so a reader never sees a
    partial file and a refusal (empty, wrong type, too large) leaves nothing behind."""
    head = _read_head(stream)
    if not head:
        raise ValidationFailed.field("file", _("The file is empty."))
    media_type = media_type_of(head)
    root.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=root, prefix=".incoming-", suffix=".part")
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as output:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > MAX_SIZE:
                    raise too_large()
                digest.update(chunk)
                output.write(chunk)
                chunk = stream.read(_CHUNK)
            output.flush()
            os.fsync(output.fileno())
        stored = Stored(digest.hexdigest(), size, media_type)
        target = path_for(stored.sha256, root)
        target.parent.mkdir(exist_ok=True)
        # The same content may already be there (uploaded twice): replacing it changes nothing.
        os.replace(temporary, target)
        return stored
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def add_document(session: Session, appeal: Appeal, stream: BinaryIO, filename: str | None, uploaded_by: str) -> Document:
    """Put a file on the appeal's file; the caller commits. A closed appeal takes no more
    evidence: its case file is final."""
    if appeal.is_closed:
        raise Conflict(_("The appeal is closed: no more documents can be added."))
    stored = store(stream, storage_root())
    document = Document(
        appeal_id=appeal.id,
        name=display_name(filename, stored.media_type),
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        uploaded_by=uploaded_by,
        created_at=now(),
    )
    session.add(document)
    session.flush()
    return document


def documents_of(session: Session, appeal: Appeal) -> list[Document]:
    """The appeal's documents in the order they were added."""
    return documents_for(session, [appeal.id]).get(appeal.id, [])


def documents_for(session: Session, appeal_ids: list[int]) -> dict[int, list[Document]]:
    """The documents of several appeals at once (a page of the queue), by appeal."""
    grouped: dict[int, list[Document]] = {}
    if appeal_ids:
        rows = session.exec(select(Document).where(Document.appeal_id.in_(appeal_ids)).order_by(Document.appeal_id, Document.id))
        for row in rows:
            grouped.setdefault(row.appeal_id, []).append(row)
    return grouped


def document_json(document: Document) -> dict:
    return {
        "id": document.id,
        "name": document.name,
        "sha256": document.sha256,
        "size": document.size,
        "media_type": document.media_type,
    }
