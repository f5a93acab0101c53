"""Retention: the personal data of an appeal closed longer ago than ``RETENTION_YEARS`` (default
10) is erased, by the scheduler's daily job or ``flask --app casework retention erase``;
``retention report`` first says what would be erased, changing nothing.

Erased, for each such appeal:

- the claimant: name → "Erased", birth date and e-mail address → none, personal ids deleted
  (kept while another appeal of theirs is still open or not yet due for erasure); their country of
  residence and language stay (published metrics filter by residence);
- the appeal: grounds → "Erased", the contested decision's reference → "", a late-filing reason →
  "Erased" (that one was given stays known); the access code no longer opens it; the assigned
  officer and mediator are no longer named;
- documents: their rows, and each stored file that no other document row still needs;
- notices: subject → "Erased", body, recipient and any delivery error → "" (a notice still
  undelivered is marked failed: there is nothing left to send), and the ``.eml`` copies the
  file transport left in ``instance/outbox/``;
- the insurance history and entitlement calculations (casework/entitlement): deleted;
- events: the personal values and their salts (``casework.events``: the actor and the free text);
  the digests stay, so the hash chain verifies as before.

Kept: states, outcomes, every date and deadline, benefit, countries, institutions, tribunal,
hearing: everything the published metrics and the audit read. The erasure is then recorded as
the appeal's last event, ``erase_personal_data`` (actor ``system``, from and to ``closed``, its
payload the counts of what was erased; not a workflow action) and ``erased_at`` is set.

Each appeal is erased in its own transaction, its row locked and re-checked inside it, so a run
that stops half-way leaves every appeal erased or untouched, the next run finishes the work, and
two runs never erase one twice. Files are deleted before that transaction commits: should the
commit fail, the next run erases the appeal again (its files are already gone), while a file
deleted only after it would stay on disk, unreachable and never erased, after a crash in between.
An appeal whose event chain does not verify is not erased (that would destroy the evidence of the
break); it is reported as failed. Events recorded before personal values were hashed apart keep
their values (erasing them would break the chain); they are counted as ``legacy_events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, exists, func, or_, tuple_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from casework.access import SYSTEM
from casework.clock import now
from casework.db import db, writing
from casework.documents import path_for, storage_root
from casework.events import ERASURE, ERASURE_COUNTS, append_event, erase_personal_values, verify_chain
from casework.models import Appeal, Calculation, Claimant, Document, Event, InsurancePeriod, Notice, PersonalId

log = logging.getLogger(__name__)

ERASED = "Erased"
# What the access-code hash becomes: never equal to a keyed hash (64 hex digits) of any code.
UNUSABLE_ACCESS_CODE = "erased"
BATCH = 100
SAMPLE = 5


def retention_years() -> int | None:
    years = current_app.config.get("RETENTION_YEARS")
    return None if years is None else int(years)


def cutoff(moment: datetime, years: int) -> datetime:
    """``moment`` that many calendar years earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _due(cut: datetime):
    """Appeals closed before ``cut`` and not erased yet: one range of ``ix_appeal_retention``."""
    return (Appeal.erased_at.is_(None), Appeal.closed_at < cut)


def candidates(session: Session, moment: datetime, *, years: int | None = None, limit: int | None = None,
               after: tuple[int, datetime] | None = None) -> list[tuple[int, datetime]]:
    """``(id, closed_at)`` of the appeals whose personal data is due for erasure at ``moment``,
    oldest closure first; ``after`` (the last row of a previous batch) continues after it."""
    cut = cutoff(moment, years if years is not None else retention_years())
    query = select(Appeal.id, Appeal.closed_at).where(*_due(cut))
    if after is not None:
        # A plain tuple on the right, so that its values are bound with the columns' types.
        query = query.where(tuple_(Appeal.closed_at, Appeal.id) > (after[1], after[0]))
    query = query.order_by(Appeal.closed_at, Appeal.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


# --- the dry run ---------------------------------------------------------------------------------

@dataclass
class Report:
    """What an erasure at ``moment`` would erase."""

    years: int
    cutoff: datetime
    appeals: int = 0
    claimants: int = 0
    personal_ids: int = 0
    documents: int = 0
    files: int = 0
    bytes: int = 0
    notices: int = 0
    events: int = 0
    legacy_events: int = 0
    oldest_closed_at: datetime | None = None
    sample: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"Retention period: {self.years} years. Appeals closed before "
                 f"{self.cutoff:%Y-%m-%d %H:%M} UTC whose personal data is not yet erased: {self.appeals:,}"]
        if self.appeals:
            lines += [
                f"  oldest closed on {self.oldest_closed_at:%Y-%m-%d}; for example {', '.join(self.sample)}",
                f"  claimants     {self.claimants:>9,}  (name, birth date, e-mail address)",
                f"  personal ids  {self.personal_ids:>9,}",
                f"  documents     {self.documents:>9,}  ({self.files:,} stored files, {self.bytes:,} bytes)",
                f"  notices       {self.notices:>9,}  (subject, body, recipient; copies in instance/outbox/)",
                f"  events        {self.events:>9,}  (actor and free text; their digests stay)",
            ]
            if self.legacy_events:
                lines.append(f"  kept: {self.legacy_events:,} events recorded before personal values were hashed "
                             "apart (erasing their text would break the hash chain)")
        return lines


def report(session: Session, moment: datetime | None = None, years: int | None = None) -> Report:
    """The dry run: counts of what ``erase`` would erase now, from indexes, changing nothing."""
    years = years if years is not None else retention_years()
    cut = cutoff(moment or now(), years)
    result = Report(years, cut)
    due = select(Appeal.id).where(*_due(cut))
    summary = session.exec(select(func.count(), func.min(Appeal.closed_at)).where(*_due(cut))).one()
    result.appeals, result.oldest_closed_at = summary
    if not result.appeals:
        return result
    result.sample = list(session.exec(
        select(Appeal.reference).where(*_due(cut)).order_by(Appeal.closed_at, Appeal.id).limit(SAMPLE)))

    # A claimant is erased with their last appeal: none of theirs is still open or not yet due.
    other = aliased(Appeal)
    still_needed = exists().where(other.claimant_id == Appeal.claimant_id, other.erased_at.is_(None),
                                  or_(other.closed_at.is_(None), other.closed_at >= cut))
    claimants = select(Appeal.claimant_id).where(*_due(cut), ~still_needed)
    result.claimants = session.exec(select(func.count(func.distinct(Appeal.claimant_id)))
                                    .where(*_due(cut), ~still_needed)).one()
    result.personal_ids = session.exec(select(func.count()).select_from(PersonalId)
                                       .where(PersonalId.claimant_id.in_(claimants))).one()
    result.notices = session.exec(select(func.count()).select_from(Notice).where(Notice.appeal_id.in_(due))).one()
    result.events = session.exec(select(func.count()).select_from(Event).where(
        Event.appeal_id.in_(due), Event.personal_salt.is_not(None))).one()
    result.legacy_events = session.exec(select(func.count()).select_from(Event).where(
        Event.appeal_id.in_(due), Event.personal_digests.is_(None))).one()
    result.documents = session.exec(select(func.count()).select_from(Document).where(Document.appeal_id.in_(due))).one()
    # A stored file goes when no document of an appeal outside this erasure needs it.
    kept = aliased(Document)
    files = (select(Document.sha256, func.max(Document.size).label("size"))
             .where(Document.appeal_id.in_(due),
                    ~exists().where(kept.sha256 == Document.sha256, kept.appeal_id.not_in(due)))
             .group_by(Document.sha256).subquery())
    result.files, result.bytes = session.exec(select(func.count(), func.coalesce(func.sum(files.c.size), 0))).one()
    return result


# --- erasing -------------------------------------------------------------------------------------

class ChainBroken(Exception):
    """The appeal's history does not verify: it is left as it is, for someone to look into."""


@dataclass
class ErasureResult:
    erased: int = 0
    failed: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*ERASURE_COUNTS, "bytes", "legacy_events"), 0))
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{name.replace('_', ' ')} {count:,}" for name, count in self.counts.items())
        return f"erased {self.erased} appeals ({counts}), failed {self.failed}"


def _erase_claimant(session: Session, appeal: Appeal, cut: datetime) -> tuple[int, int]:
    other = aliased(Appeal)
    still_needed = session.exec(select(other.id).where(
        other.claimant_id == appeal.claimant_id, other.id != appeal.id, other.erased_at.is_(None),
        or_(other.closed_at.is_(None), other.closed_at >= cut)).limit(1)).first()
    if still_needed is not None:
        return 0, 0
    claimant = session.get(Claimant, appeal.claimant_id)
    claimant.name, claimant.birth_date, claimant.email = ERASED, None, None
    personal_ids = session.exec(delete(PersonalId).where(PersonalId.claimant_id == claimant.id)).rowcount
    return 1, personal_ids


def _erase_documents(session: Session, appeal: Appeal, root: Path) -> tuple[int, list[Path], int]:
    """Delete the appeal's document rows; the stored files no other row needs, and their bytes."""
    rows = list(session.exec(select(Document).where(Document.appeal_id == appeal.id)))
    files, size = [], 0
    for sha256, row in {row.sha256: row for row in rows}.items():
        needed = session.exec(select(Document.id).where(Document.sha256 == sha256, Document.appeal_id != appeal.id)
                              .limit(1)).first()
        if needed is None:
            files.append(path_for(sha256, root))
            size += row.size
    for row in rows:
        session.delete(row)
    return len(rows), files, size


def _outbox_files(session: Session, appeal: Appeal) -> list[Path]:
    """The copies of the appeal's notices that the file transport wrote (casework/outbox.py,
    ``FileTransport``: ``<instance>/outbox/notice-<id>.eml``), where there is no SMTP server."""
    directory = Path(current_app.instance_path) / "outbox"
    return [directory / f"notice-{notice_id:09d}.eml"
            for notice_id in session.exec(select(Notice.id).where(Notice.appeal_id == appeal.id))]


def _erase_notices(session: Session, appeal: Appeal) -> int:
    erased = session.exec(update(Notice).where(Notice.appeal_id == appeal.id)
                          .values(subject=ERASED, body="", recipient="", last_error=None)).rowcount
    session.exec(update(Notice).where(Notice.appeal_id == appeal.id, Notice.status.in_(("pending", "sending")))
                 .values(status="failed", retry_at=None, last_error="personal data erased before delivery"))
    return erased


def _erase_entitlement(session: Session, appeal: Appeal) -> tuple[int, int]:
    """The claimant's working life and the amounts computed from it go entirely: a period without
    its person says nothing the metrics need."""
    periods = session.exec(delete(InsurancePeriod).where(InsurancePeriod.appeal_id == appeal.id)).rowcount
    calculations = session.exec(delete(Calculation).where(Calculation.appeal_id == appeal.id)).rowcount
    return periods, calculations


def erase_appeal(appeal_id: int, cut: datetime, root: Path) -> dict[str, int] | None:
    """Erase one appeal's personal data in one transaction; the counts of what was erased, or
    None when there was nothing to do (erased meanwhile, or no longer due)."""
    with writing(), db.new_session() as session:
        if session.get_bind().dialect.name == "sqlite":
            # Overwrite what is deleted or replaced with zeros, rather than leave it readable in
            # the database file's free space. Left on for the pooled connection: it costs little.
            session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
        appeal = session.exec(select(Appeal).where(Appeal.id == appeal_id, *_due(cut))
                              .with_for_update(of=Appeal)).unique().first()
        if appeal is None:
            return None
        events = list(session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)))
        broken = verify_chain(appeal.reference, events, appeal.last_event_hash)
        if broken:
            raise ChainBroken(f"{appeal.reference}: event chain broken at event {broken.seq} ({broken.reason}); "
                              "not erased, so that the break can be looked into")
        moment = now()
        counts = dict.fromkeys(ERASURE_COUNTS, 0)
        counts["claimants"], counts["personal_ids"] = _erase_claimant(session, appeal, cut)
        counts["documents"], files, size = _erase_documents(session, appeal, root)
        counts["files"] = len(files)
        files += _outbox_files(session, appeal)
        counts["notices"] = _erase_notices(session, appeal)
        counts["events"] = sum(erase_personal_values(event) for event in events)
        counts["insurance_periods"], counts["calculations"] = _erase_entitlement(session, appeal)
        legacy = sum(event.personal_digests is None for event in events)

        appeal.grounds = ERASED
        appeal.decision_reference = ""
        appeal.late_filing_reason = ERASED if appeal.late_filing_reason else None
        appeal.access_code_hash = UNUSABLE_ACCESS_CODE
        appeal.assigned_officer_id = appeal.mediator_id = None
        appeal.version += 1
        append_event(session, appeal, action=ERASURE, from_state=appeal.state, to_state=appeal.state,
                     actor=SYSTEM.label, actor_role=SYSTEM.role, occurred_at=moment, payload=counts,
                     recorded_at=moment)
        appeal.erased_at = appeal.updated_at = moment
        session.flush()
        for path in files:
            path.unlink(missing_ok=True)
        session.commit()
    return {**counts, "bytes": size, "legacy_events": legacy}


def erase(moment: datetime | None = None, *, batch_size: int = BATCH,
          progress: Callable[[int], None] | None = None) -> ErasureResult:
    """Erase the personal data of every appeal due at ``moment`` (now), oldest closure first, each
    in its own transaction. A failing appeal is logged and counted and never stops the others."""
    result = ErasureResult()
    years = retention_years()
    if years is None:
        return result
    moment = moment or now()
    cut, root = cutoff(moment, years), storage_root()
    after = None
    while True:
        with db.new_session() as session:
            batch = candidates(session, moment, years=years, limit=batch_size, after=after)
        if not batch:
            _checkpoint()
            return result
        after = batch[-1]
        for appeal_id, _closed_at in batch:
            try:
                counts = erase_appeal(appeal_id, cut, root)
            except ChainBroken as error:
                log.error("retention: %s", error)
                result.failed += 1
                result.errors.append(str(error))
            except Exception as error:  # one appeal must not stop the others; it is tried again next run
                log.exception("retention: appeal %s could not be erased", appeal_id)
                result.failed += 1
                result.errors.append(f"appeal {appeal_id}: {type(error).__name__}: {error}")
            else:
                if counts is not None:
                    result.erased += 1
                    for name, count in counts.items():
                        result.counts[name] += count
            if progress:
                progress(1)


def _checkpoint() -> None:
    """On SQLite, move the pages written to the write-ahead log into the database file (where
    the erased values were zeroed) and empty the log, so no earlier copy of a page stays in it."""
    if db.engine.dialect.name == "sqlite":
        connection = db.engine.raw_connection()  # outside any transaction, which would hold the log
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


def count_due(moment: datetime | None = None) -> int:
    years = retention_years()
    if years is None:
        return 0
    with db.new_session() as session:
        return session.exec(select(func.count()).where(*_due(cutoff(moment or now(), years)))).one()


# --- commands ------------------------------------------------------------------------------------

retention_cli = AppGroup("retention", help="Erasure of personal data once the retention period has ended.")


def _switched_off() -> bool:
    if retention_years() is None:
        click.echo("retention is switched off (RETENTION_YEARS is None): nothing is erased")
        return True
    return False


@retention_cli.command("report")
def retention_report():
    """Dry run: what an erasure now would erase; changes nothing."""
    if _switched_off():
        return
    found = report(db.session)
    for line in found.lines():
        click.echo(line)
    click.echo(f"would erase {found.appeals} appeals (dry run: nothing was changed)")


@retention_cli.command("erase")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def retention_erase(yes):
    """Erase the personal data of every appeal whose retention period has ended; last line ``erased N appeals``."""
    from casework.cli import progress

    if _switched_off():
        click.echo("erased 0 appeals")
        return
    moment = now()
    due = count_due(moment)
    if due and not yes:
        cut = cutoff(moment, retention_years())
        click.confirm(f"Erase the personal data of {due:,} appeals closed before {cut:%Y-%m-%d}? "
                      "This cannot be undone", abort=True)
    with progress(due, "erasing personal data") as update:
        result = erase(moment, progress=update)
    for error in result.errors[:20]:
        click.echo(error, err=True)
    if result.erased:
        counts = ", ".join(f"{name.replace('_', ' ')} {count:,}" for name, count in result.counts.items())
        click.echo(f"Erased: {counts}")
    click.echo(f"erased {result.erased} appeals" + (f", failed {result.failed}" if result.failed else ""))
    if result.failed:
        raise SystemExit(1)
