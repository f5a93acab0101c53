"""The audit trail: an append-only, hash-chained history per appeal.

Each event stores the SHA-256 of its own content together with the previous event's hash, over
the RFC 8785 canonical JSON of that content, so a receiving system in any language can recompute
it; changing, removing or reordering any past event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import rfc8785
from sqlmodel import Session

from casework.clock import isoformat, now
from casework.models import Appeal, Event

GENESIS = "0" * 64


def event_content(reference: str, event: Event) -> dict:
    """What an event's hash covers: the appeal's reference and every recorded field of the step."""
    return {"appeal": reference, **event_fields(event)}


def event_fields(event: Event) -> dict:
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
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(appeal.reference, event, prev_hash)
    session.add(event)
    appeal.last_event_seq = event.seq
    appeal.last_event_hash = event.hash
    appeal.last_event_at = occurred_at
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(reference: str, events: Iterable[Event], head: str | None = None) -> ChainBreak | None:
    """The first break in an appeal's chain, or None when every link holds (and ends at ``head``)."""
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (found {event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, "previous-hash link does not match")
        if event_hash(reference, event, prev_hash) != event.hash:
            return ChainBreak(event.seq, "content does not match its hash")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    if head is not None and head != prev_hash:
        return ChainBreak(expected_seq, "the history ends early: the appeal records a later last event")
    return None
