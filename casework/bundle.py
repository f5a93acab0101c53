"""The case file a tribunal receives when an appeal is escalated: everything it needs to decide
(the claimant, the contested decision, the grounds, every step and deadline, the review decision
and how mediation ended, every document by its SHA-256), signed by this installation.

The tribunal may sit in another country and run its own case system, so the bundle proves
itself: the Ed25519 signature (``casework.signing``) covers the RFC 8785 canonical JSON of
``bundle``, which any JCS library reproduces; each document's bytes match the hash in it; the
events carry the appeal's hash chain, each with every field its hash is computed from
(``casework.events`` defines the content). ``format`` names the shape: it changes only by adding
a new format, never in place.

- ``casework-bundle/3`` (issued now): ``/2`` and, in ``appeal``, the claimant's insurance history
  (``insurance_periods``: every period entered or proposed, and what became of it) and every
  entitlement calculation run on it (``calculations``: its periods, amounts, rules with their
  versions and result as run, and its explanation in the claimant's language), so the tribunal
  reads the same numbers as the claimant and the officer.
- ``casework-bundle/2``: each event also carries ``personal_salt`` and
  ``personal_digests``; its hash covers the digests of its personal values (actor, free text),
  not the values, so a bundle of an appeal whose personal data was erased (salts and values
  gone, digests kept) still verifies.
- ``casework-bundle/1`` (issued before): events without them, hashed over every field as
  recorded. ``bundle verify`` still accepts it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import IO

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.cli import AppGroup
from sqlmodel import Session, select

from casework import signing
from casework.api.serializers import calculation_json, contested_decision_json
from casework.clock import isoformat, now
from casework.deadlines import schedule
from casework.documents import document_json, documents_of, path_for
from casework.entitlement import operations as entitlement
from casework.entitlement.operations import period_json
from casework.events import event_fields, verify_chain
from casework.models import Appeal, Deadline, Event, Tribunal

FORMAT = "casework-bundle/3"
FORMATS = (FORMAT, "casework-bundle/2", "casework-bundle/1")  # the formats ``verify`` accepts
BUNDLE_JSON = "bundle.json"
DOCUMENTS_FOLDER = "documents/"
_CHUNK = 64 * 1024


# --- building --------------------------------------------------------------------------------

def _claimant(appeal: Appeal) -> dict:
    # What identifies the person and decides which rules apply; no contact details.
    claimant = appeal.claimant
    return {
        "name": claimant.name,
        "birth_date": claimant.birth_date.isoformat() if claimant.birth_date else None,
        "residence_country": claimant.residence_country,
        "preferred_language": claimant.preferred_language,
        "personal_ids": [{"country": p.country, "scheme": p.scheme, "value": p.value} for p in claimant.personal_ids],
    }


def _deadline(row: Deadline) -> dict:
    return {
        "kind": row.kind,
        "started_at": isoformat(row.started_at),
        "due_at": isoformat(row.due_at),
        "due_on": row.due_on.isoformat(),
        "timezone": row.timezone,
        "jurisdiction": row.jurisdiction,
        "status": row.status,
        "ended_at": isoformat(row.ended_at),
        # Whether the stage ended in time; null while it runs or when it was cancelled.
        "met": {"met": True, "missed": False}.get(row.status),
    }


def _last(events: list[Event], actions: tuple[str, ...]) -> Event | None:
    return next((event for event in reversed(events) if event.action in actions), None)


def _review_decision(events: list[Event]) -> dict | None:
    """The latest review decision: the officer's, or the deemed refusal of a missed deadline."""
    event = _last(events, ("decide_review", "review_timeout"))
    if event is None:
        return None
    return {
        "outcome": event.payload.get("outcome", "refused"),
        "reasons": event.payload.get("reasons"),
        "deemed_refusal": event.action == "review_timeout",
        "decided_at": isoformat(event.occurred_at),
        "event_seq": event.seq,
    }


_MEDIATION_ENDS = {"settle": "settled", "end_mediation": "failed", "mediation_timeout": "timed_out"}


def _mediation(events: list[Event]) -> dict | None:
    """The latest mediation: when it was asked for, whether it was extended, how it ended."""
    started = _last(events, ("request_mediation",))
    if started is None:
        return None
    later = [event for event in events if event.seq > started.seq]
    ended = _last(later, tuple(_MEDIATION_ENDS))
    return {
        "requested_at": isoformat(started.occurred_at),
        "extended": any(event.action == "extend_mediation" for event in later),
        "outcome": _MEDIATION_ENDS[ended.action] if ended else None,
        "terms": ended.payload.get("terms") if ended else None,
        "reason": ended.payload.get("reason") if ended else None,
        "ended_at": isoformat(ended.occurred_at) if ended else None,
    }


def _tribunal(session: Session, appeal: Appeal) -> dict | None:
    tribunal = session.get(Tribunal, appeal.tribunal_code) if appeal.tribunal_code else None
    if tribunal is None:
        return None
    return {"code": tribunal.code, "name": tribunal.name, "country": tribunal.country}


def _appeal(session: Session, appeal: Appeal, events: list[Event]) -> dict:
    return {
        "reference": appeal.reference,
        "state": appeal.state,
        "outcome": appeal.outcome,
        "benefit": appeal.benefit,
        "claimant": _claimant(appeal),
        "contested_decision": contested_decision_json(appeal),
        "receiving_country": appeal.receiving_country,
        "handling_country": appeal.handling_country,
        "handling_institution_name": appeal.handling_institution.name,
        "involved_countries": appeal.involved_countries,
        "lodged_at": isoformat(appeal.lodged_at),
        "filing_deadline": appeal.filing_deadline.isoformat(),
        "filed_in_time": appeal.filed_in_time,
        "late_filing_reason": appeal.late_filing_reason,
        "grounds": appeal.grounds,
        "deadlines": [_deadline(row) for row in schedule.listed(session, appeal)],
        "review_decision": _review_decision(events),
        "mediation": _mediation(events),
        "tribunal": _tribunal(session, appeal),
        "hearing": {"hearing_at": isoformat(appeal.hearing_at), "mode": appeal.hearing_mode} if appeal.hearing_at else None,
        "insurance_periods": [period_json(period) for period in entitlement.periods_of(session, appeal)],
        "calculations": [
            {**calculation_json(calculation, appeal.claimant.preferred_language), "inputs": calculation.inputs,
             "run_by": calculation.run_by}
            for calculation in entitlement.calculations_of(session, appeal)
        ],
    }


def _event(event: Event) -> dict:
    # Every field the chain's hashes are computed from (actor_role, the salt and the digests of the
    # personal values too), so the receiver can recompute them.
    return {**event_fields(event), "hash": event.hash, "prev_hash": event.prev_hash}


def case_file(session: Session, appeal: Appeal, *, issuer: str, issued_at: datetime) -> dict:
    """The unsigned ``bundle`` of an appeal as it stands."""
    events = list(session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)))
    return {
        "format": FORMAT,
        "issued_at": isoformat(issued_at),
        "issuer": issuer,
        "appeal": _appeal(session, appeal, events),
        "events": [_event(event) for event in events],
        "documents": [document_json(document) for document in documents_of(session, appeal)],
    }


def issue(session: Session, appeal: Appeal, *, issuer: str) -> dict:
    """The signed case file, ``{"bundle", "signature"}``, signed with the current key."""
    bundle = case_file(session, appeal, issuer=issuer, issued_at=now())
    return {"bundle": bundle, "signature": signing.sign(bundle, signing.keyring().current())}


def write_zip(signed: dict, output: IO[bytes]) -> None:
    """One file for systems that want one: ``bundle.json`` and ``documents/<sha256>`` (each
    stored file once, however many times it was uploaded)."""
    with zipfile.ZipFile(output, "w") as archive:
        text = json.dumps(signed, ensure_ascii=False, indent=2)
        archive.writestr(BUNDLE_JSON, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        for sha256 in dict.fromkeys(document["sha256"] for document in signed["bundle"]["documents"]):
            # Scans and PDFs are compressed already: stored as they are.
            archive.write(path_for(sha256), DOCUMENTS_FOLDER + sha256, compress_type=zipfile.ZIP_STORED)


# --- verifying ---------------------------------------------------------------------------------

class BundleInvalid(Exception):
    """What is wrong with a bundle, in one line."""


@dataclasses.dataclass(frozen=True)
class Verified:
    reference: str
    key_id: str
    issued_at: str
    events: int
    documents: int
    documents_checked: bool

    def __str__(self) -> str:
        files = "their bytes match their sha256" if self.documents_checked else "not included, not checked"
        documents = f"{self.documents} document{'' if self.documents == 1 else 's'}"
        return (f"OK {self.reference}: signed by key {self.key_id} at {self.issued_at}; "
                f"{self.events} events, hash chain intact; {documents} ({files})")


def _events_for_chain(events: list[dict]) -> list[Event]:
    try:
        return [
            Event(**{**event, "occurred_at": datetime.fromisoformat(event["occurred_at"]),
                     "recorded_at": datetime.fromisoformat(event["recorded_at"])})
            for event in events
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise BundleInvalid(f"an event is incomplete or malformed ({error})") from None


def verify(signed: dict, public_keys: dict[str, Ed25519PublicKey]) -> Verified:
    """Check a signed bundle: its signature against the published keys, then its hash chain."""
    bundle = signed.get("bundle") if isinstance(signed, dict) else None
    if not isinstance(bundle, dict) or bundle.get("format") not in FORMATS:
        raise BundleInvalid(f"not a {' or '.join(FORMATS)} document")
    try:
        key_id = signing.check_signature(bundle, signed.get("signature"), public_keys)
    except signing.SignatureInvalid as error:
        raise BundleInvalid(str(error)) from None
    try:
        reference, issued_at = bundle["appeal"]["reference"], bundle["issued_at"]
        events, documents = list(bundle["events"]), list(bundle["documents"])
    except (KeyError, TypeError):
        raise BundleInvalid("the bundle lacks its appeal reference, issue time, events or documents") from None
    broken = verify_chain(reference, _events_for_chain(events))
    if broken:
        raise BundleInvalid(f"event {broken.seq}: {broken.reason}")
    return Verified(reference, key_id, issued_at, len(events), len(documents), documents_checked=False)


def _check_document(archive: zipfile.ZipFile, document: dict) -> None:
    label = f"document {document['id']} ({document['name']})"
    try:
        info = archive.getinfo(DOCUMENTS_FOLDER + document["sha256"])
    except KeyError:
        raise BundleInvalid(f"{label} is missing from the zip") from None
    # The size first: a file that announces the wrong size is never decompressed.
    if info.file_size != document["size"]:
        raise BundleInvalid(f"{label} has {info.file_size} bytes, the bundle says {document['size']}")
    digest = hashlib.sha256()
    with archive.open(info) as content:
        for chunk in iter(lambda: content.read(_CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != document["sha256"]:
        raise BundleInvalid(f"{label} does not match its sha256")


def verify_zip(file: IO[bytes] | Path, public_keys: dict[str, Ed25519PublicKey]) -> Verified:
    """Check a zip: the signed ``bundle.json``, and every document's size and SHA-256."""
    try:
        with zipfile.ZipFile(file) as archive:
            try:
                signed = json.loads(archive.read(BUNDLE_JSON))
            except KeyError:
                raise BundleInvalid(f"the zip has no {BUNDLE_JSON}") from None
            verified = verify(signed, public_keys)
            for document in signed["bundle"]["documents"]:
                _check_document(archive, document)
    except (zipfile.BadZipFile, ValueError) as error:
        raise BundleInvalid(f"the zip is damaged ({error})") from None
    return dataclasses.replace(verified, documents_checked=True)


def verify_file(path: Path, public_keys: dict[str, Ed25519PublicKey]) -> Verified:
    """A saved ``.json`` bundle or a ``.zip`` of bundle and documents, told apart by content."""
    if zipfile.is_zipfile(path):
        return verify_zip(path, public_keys)
    try:
        signed = json.loads(path.read_bytes())
    except ValueError as error:
        raise BundleInvalid(f"neither a zip nor JSON ({error})") from None
    return verify(signed, public_keys)


bundle_cli = AppGroup("bundle", help="Signed case-file bundles.")


@bundle_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bundle_verify(file: Path):
    """Check a saved bundle (.json, or .zip with its documents) against this installation's keys."""
    try:
        verified = verify_file(file, signing.keyring().public_keys())
    except BundleInvalid as error:
        click.echo(f"INVALID {file}: {error}")
        sys.exit(1)
    click.echo(str(verified))
