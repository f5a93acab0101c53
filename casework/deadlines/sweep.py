"""The deadline sweep: fires every due deadline row exactly once.

Each row is fired in its own transaction, through the same operations people use (actor:
``system``). The row is re-read inside that transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's write lock serialises sweepers), so two sweepers, or a sweeper restarted
after a crash, never fire one twice. A failure is recorded on the row and retried later; it
never stops the sweep. Rows that fell due while nothing ran are simply due: the next sweep
fires them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import func, or_
from sqlalchemy.orm import joinedload
from sqlmodel import select

from casework import notices, operations
from casework.access import SYSTEM
from casework.clock import now
from casework.db import db, writing
from casework.deadlines.schedule import FLAG_KINDS, TIMER_ACTION
from casework.models import Appeal, Deadline

log = logging.getLogger(__name__)
MAX_RETRY = timedelta(hours=6)


@dataclass
class SweepResult:
    fired: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _due(query, moment):
    """Pending rows whose time has come and whose retry, after a failure, is not still waiting."""
    return query.where(Deadline.status == "pending", Deadline.due_at <= moment).where(
        or_(Deadline.retry_at.is_(None), Deadline.retry_at <= moment)
    )


def due_ids(limit: int) -> list[int]:
    """The next batch of due rows, oldest first (an index range scan on status, due_at)."""
    with db.new_session() as session:
        query = _due(select(Deadline.id), now()).order_by(Deadline.due_at, Deadline.id).limit(limit)
        return list(session.exec(query))


def count_due() -> int:
    """How many rows are due now (for a progress bar)."""
    with db.new_session() as session:
        return session.exec(_due(select(func.count()).select_from(Deadline), now())).one()


def fire(deadline_id: int) -> bool:
    """Fire one row if it is still pending and due; True when this call fired it."""
    with writing(), db.new_session() as session:
        # The row, its appeal and the countries its notices go to, in one query. Both rows are
        # locked: a sweeper never fires a row another holds, nor races a person acting on the appeal.
        found = session.exec(
            select(Deadline, Appeal)
            .join(Appeal, Appeal.id == Deadline.appeal_id)
            .where(Deadline.id == deadline_id, Deadline.status == "pending")
            .options(joinedload(Appeal.countries))
            .with_for_update(of=[Deadline, Appeal], skip_locked=True)
        ).unique().first()
        moment = now()
        if found is None or found[0].due_at > moment:
            return False
        row, appeal = found
        row.fired_at = moment
        if row.kind in TIMER_ACTION:
            # Leaving the stage closes this row as missed in the same transaction.
            operations.perform_action(session, appeal, SYSTEM, TIMER_ACTION[row.kind])
        else:
            row.status = "missed"
            if row.kind in FLAG_KINDS:
                appeal.version += 1
                appeal.overdue_since = appeal.overdue_since or moment
                appeal.updated_at = moment
            notices.for_deadline(session, appeal, row)
        session.commit()
        return True


def _record_failure(deadline_id: int, error: Exception) -> None:
    with writing(), db.new_session() as session:
        row = session.get(Deadline, deadline_id)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        base = timedelta(seconds=current_app.config.get("SWEEP_RETRY_SECONDS", 300))
        row.retry_at = now() + min(base * 2 ** (row.attempts - 1), MAX_RETRY)
        session.commit()


def sweep(batch_size: int | None = None, progress: Callable[[int], None] | None = None) -> SweepResult:
    """Fire every due deadline now, batch after batch, until none is left."""
    batch_size = batch_size or current_app.config.get("SWEEP_BATCH_SIZE", 200)
    result = SweepResult()
    tried: set[int] = set()
    while True:
        batch = [i for i in due_ids(batch_size) if i not in tried]
        if not batch:
            return result
        for deadline_id in batch:
            tried.add(deadline_id)
            try:
                if fire(deadline_id):
                    result.fired += 1
                else:
                    result.skipped += 1
            except Exception as error:  # a failing row must not stop the others; it is recorded and retried
                log.exception("deadline %s failed to fire", deadline_id)
                result.failed += 1
                result.errors.append(f"deadline {deadline_id}: {type(error).__name__}: {error}")
                _record_failure(deadline_id, error)
            if progress:
                progress(1)
