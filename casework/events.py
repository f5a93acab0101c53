"""The audit trail: an append-only, hash-chained history per appeal.

Each event stores the SHA-256 of its content together with the previous event's hash, over the
RFC 8785 (JCS) canonical JSON of that content, so a receiving system in any language can
recompute it; changing, removing or reordering any past event breaks every hash after it.

Personal values are hashed apart from the rest, so that they can be erased when the appeal's
retention period ends (``casework/retention.py``) and the chain still verifies. An event's
personal values are its ``actor`` (a staff member's e-mail; "claimant" or "system" otherwise)
and every payload field not named in ``PUBLIC_PAYLOAD``: the text people wrote (``reasons``,
``reason``, ``items``, ``terms``, ``instructions``, ``late_filing_reason``), the e-mail of an
assigned ``user``, and any field added later unless it is listed there. When the event is
recorded, a random salt is drawn for it (``personal_salt``: 32 hex digits) and each personal
value gets a digest::

    digest(field, value) = hex SHA-256 of JCS({"field": field, "salt": personal_salt, "value": value})

``field`` being ``"actor"`` or ``"payload.<key>"``. The event keeps them as ``personal_digests``
= ``{"actor": <digest>, "payload": {"<key>": <digest>, ...}}``. Its hash is then::

    hash = hex SHA-256 of (prev_hash + JCS(content))     (prev_hash: 64 hex digits as ASCII;
                                                          "0" * 64 before the first event)
    content = {"appeal": <the appeal's reference>, "seq": <1, 2, ...>, "action": <action>,
               "from_state": <state, null for lodge>, "to_state": <state>, "actor_role": <role>,
               "occurred_at": <ISO 8601, UTC "Z">, "recorded_at": <ISO 8601, UTC "Z">,
               "payload": <the payload without the keys of personal_digests["payload"]>,
               "personal_digests": <personal_digests>}

The hash covers the digests, the digests cover the values. ``verify_chain`` checks both while
the values are there. Erasure (``erase_personal_values``) deletes the salt and the personal
payload values and sets ``actor`` to the ``actor_role``; the digests stay, so every hash still
verifies, and without the salt the digests reveal nothing (not even a short or guessable value).
An erased event is valid only so: no salt, no personal payload value, the role as actor, and an
``erase_personal_data`` event later in the same chain (the erasure is itself on record).

Events recorded before personal values were hashed apart (before migration 0002; in bundles of
format ``casework-bundle/1``) have no ``personal_digests`` (null). Their content is every field
as recorded: ``{"appeal", "seq", "action", "from_state", "to_state", "actor", "actor_role",
"occurred_at", "recorded_at", "payload"}``, so their personal values cannot be erased without
breaking the chain: retention leaves those in place (and counts them).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import rfc8785
from sqlmodel import Session

from casework.clock import isoformat, now
from casework.models import Appeal, Event

GENESIS = "0" * 64

# The erasure of an appeal's personal data, recorded as the last event of its history (not a
# workflow action: it changes no state), with what it erased counted in its payload.
ERASURE = "erase_personal_data"
ERASURE_COUNTS = ("claimants", "personal_ids", "documents", "files", "notices", "events", "insurance_periods",
                  "calculations")

# Payload fields that are no one's personal data: codes, countries, dates, outcomes, counts, and
# the name of an institution. Every other payload field is hashed as a personal value.
PUBLIC_PAYLOAD = frozenset({
    "benefit", "decision_country", "lodged_with_country", "filing_deadline", "filed_in_time",  # lodge
    "to_country", "to_institution_name",  # forward
    "from", "due_in_days",  # request_information
    "outcome",  # decide_review, deliver_judgment
    "hearing_at", "mode",  # schedule_hearing
    *ERASURE_COUNTS,
})

Dumps = Callable[[Any], bytes]


def personal_digest(field: str, value: Any, salt: str, dumps: Dumps = rfc8785.dumps) -> str:
    """The digest of one personal value (``dumps``: RFC 8785, or the generator's equal and faster form)."""
    return hashlib.sha256(dumps({"field": field, "salt": salt, "value": value})).hexdigest()


def personal_digests(actor: str, payload: dict, salt: str, dumps: Dumps = rfc8785.dumps) -> dict:
    """The digests of a new event's personal values: its actor and its payload's personal fields."""
    return {
        "actor": personal_digest("actor", actor, salt, dumps),
        "payload": {key: personal_digest("payload." + key, value, salt, dumps)
                    for key, value in payload.items() if key not in PUBLIC_PAYLOAD},
    }


def new_salt() -> str:
    return secrets.token_hex(16)


def hashed_content(reference: str, *, seq: int, action: str, from_state: str | None, to_state: str, actor: str,
                   actor_role: str, occurred_at: str, recorded_at: str, payload: dict,
                   personal_digests: dict | None) -> dict:
    """What an event's hash covers (times as ``clock.isoformat`` writes them); see the module's docstring."""
    if personal_digests is None:
        return {"appeal": reference, "seq": seq, "action": action, "from_state": from_state, "to_state": to_state,
                "actor": actor, "actor_role": actor_role, "occurred_at": occurred_at, "recorded_at": recorded_at,
                "payload": payload}
    personal = personal_digests["payload"]
    return {
        "appeal": reference,
        "seq": seq,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "actor_role": actor_role,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "payload": {key: value for key, value in payload.items() if key not in personal},
        "personal_digests": personal_digests,
    }


def event_content(reference: str, event: Event) -> dict:
    """What an event's hash covers: the one definition (the bulk generator builds it through
    ``hashed_content`` too, and its tests hold its bytes to this)."""
    return hashed_content(
        reference,
        seq=event.seq,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        actor=event.actor,
        actor_role=event.actor_role,
        occurred_at=isoformat(event.occurred_at),
        recorded_at=isoformat(event.recorded_at),
        payload=event.payload,
        personal_digests=event.personal_digests,
    )


def event_fields(event: Event) -> dict:
    """Every recorded field of the step: what a receiving system needs to recompute its hash."""
    return {
        "seq": event.seq,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "occurred_at": isoformat(event.occurred_at),
        "recorded_at": isoformat(event.recorded_at),
        "payload": event.payload,
        "personal_salt": event.personal_salt,
        "personal_digests": event.personal_digests,
    }


def event_hash(reference: str, event: Event, prev_hash: str) -> str:
    content = rfc8785.dumps(event_content(reference, event))
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def append_event(
    session: Session,
    appeal: Appeal,
    *,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    actor_role: str,
    occurred_at: datetime,
    payload: dict,
    recorded_at: datetime | None = None,
) -> Event:
    """Add the next event of ``appeal`` and move the appeal's chain head to it."""
    prev_hash = appeal.last_event_hash or GENESIS
    salt = new_salt()
    event = Event(
        appeal_id=appeal.id,
        seq=appeal.last_event_seq + 1,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        actor_role=actor_role,
        occurred_at=occurred_at,
        recorded_at=recorded_at or now(),
        payload=payload,
        personal_salt=salt,
        personal_digests=personal_digests(actor, payload, salt),
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(appeal.reference, event, prev_hash)
    session.add(event)
    appeal.last_event_seq = event.seq
    appeal.last_event_hash = event.hash
    appeal.last_event_at = occurred_at
    return event


def is_erased(event: Event) -> bool:
    """Whether the event's personal values were erased (its digests remain)."""
    return event.personal_digests is not None and event.personal_salt is None


def erase_personal_values(event: Event) -> bool:
    """Remove the event's personal values and its salt, keeping the digests (the hash stays
    valid). False when there is nothing to remove: erased already, or recorded before personal
    values were hashed apart (removing them would break the chain)."""
    if event.personal_digests is None or event.personal_salt is None:
        return False
    personal = event.personal_digests["payload"]
    event.payload = {key: value for key, value in event.payload.items() if key not in personal}
    event.actor = event.actor_role
    event.personal_salt = None
    return True


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def _well_formed(digests: Any) -> bool:
    return (isinstance(digests, dict) and set(digests) == {"actor", "payload"} and isinstance(digests["actor"], str)
            and isinstance(digests["payload"], dict) and all(isinstance(d, str) for d in digests["payload"].values()))


def _personal_problem(event: Event) -> str | None:
    """Why the event's personal values do not match their digests, if they do not."""
    digests, payload, salt = event.personal_digests, event.payload, event.personal_salt
    if digests is None:
        return None  # recorded before personal values were hashed apart: the hash covers them
    if not _well_formed(digests) or not isinstance(payload, dict):
        return "its personal digests or payload are malformed"
    if salt is None:  # erased
        if event.actor != event.actor_role:
            return "an erased event names an actor"
        kept = [key for key in digests["payload"] if key in payload]
        return f"payload.{kept[0]} has no salt to check it against" if kept else None
    if personal_digest("actor", event.actor, salt) != digests["actor"]:
        return "the actor does not match its digest"
    for key, digest in digests["payload"].items():
        if key not in payload:
            return f"payload.{key} was removed, its salt kept"
        if personal_digest("payload." + key, payload[key], salt) != digest:
            return f"payload.{key} does not match its digest"
    return None


def verify_chain(reference: str, events: Iterable[Event], head: str | None = None) -> ChainBreak | None:
    """The first break in an appeal's chain, or None when every link holds (and ends at ``head``)."""
    prev_hash, expected_seq = GENESIS, 1
    unrecorded_erasure = None  # the first erased event not followed (yet) by the erasure's event
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (found {event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, "previous-hash link does not match")
        try:
            problem = _personal_problem(event)
            if problem:
                return ChainBreak(event.seq, f"content does not match its hash ({problem})")
            if event_hash(reference, event, prev_hash) != event.hash:
                return ChainBreak(event.seq, "content does not match its hash")
        except (TypeError, ValueError, rfc8785.CanonicalizationError):
            return ChainBreak(event.seq, "content does not match its hash (it is not canonical JSON)")
        if event.action == ERASURE:
            unrecorded_erasure = None
        elif unrecorded_erasure is None and is_erased(event):
            unrecorded_erasure = event.seq
        prev_hash, expected_seq = event.hash, expected_seq + 1
    if unrecorded_erasure is not None:
        return ChainBreak(unrecorded_erasure, "personal values were removed, but no erasure is recorded after them")
    if head is not None and head != prev_hash:
        return ChainBreak(expected_seq, "the history ends early: the appeal records a later last event")
    return None
