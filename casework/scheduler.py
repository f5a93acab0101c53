"""The scheduler process: one APScheduler in its own process (never inside web workers) that
runs the deadline sweep and the notice delivery every minute, the daily audit of the event
chains, and, after it, the daily erasure of personal data whose retention period has ended.

The timers themselves are rows in the ``deadline`` table, not scheduler jobs: the job store is
in memory and holds only these jobs, so nothing is lost or dropped when the process stops, and
several scheduler processes can run at once, on one host or several: the sweep takes due rows
with ``FOR UPDATE SKIP LOCKED`` and fires each exactly once, the deliverers claim notices the
same way, and each daily job runs in whichever process takes its advisory lock.
"""

from __future__ import annotations

import contextlib
import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlmodel import select

from casework.clock import now
from casework.db import db
from casework.events import verify_chain
from casework.models import Appeal, Event

log = logging.getLogger("casework.scheduler")


def sweep_job(app: Flask) -> None:
    from casework.deadlines.sweep import sweep

    with app.app_context():
        result = sweep()
        db.session.close()
    if result.fired or result.failed:
        log.info("sweep: fired %d, failed %d", result.fired, result.failed)


def delivery_job(app: Flask) -> None:
    from casework.outbox import deliver

    with app.app_context():
        result = deliver()
        db.session.close()
    if result.sent or result.failed or result.retrying:
        log.info("notices: sent %d, retrying %d, failed %d", result.sent, result.retrying, result.failed)


DAILY_LOCK = 0x43617366  # PostgreSQL advisory lock: one scheduler runs the daily checks
RETENTION_LOCK = 0x43617372  # ... and one the daily erasure


@contextlib.contextmanager
def only_one(engine, key: int):
    """True for the one scheduler process that holds ``key`` (PostgreSQL's advisory lock, on a
    connection kept for the job); several schedulers on one SQLite file are one machine's, and
    the jobs are safe to run twice (the audit only reads; the erasure re-checks each appeal
    inside its own write transaction), so there they always run."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        held = connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})").scalar()
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                connection.commit()


def daily_job(app: Flask) -> None:
    """Check every appeal's history chain, so tampering is noticed within a day."""
    with app.app_context(), only_one(db.engine, DAILY_LOCK) as mine:
        if not mine:
            log.info("daily audit: another scheduler is running it")
            return
        broken = 0
        for appeal_id, reference, head in db.session.exec(select(Appeal.id, Appeal.reference, Appeal.last_event_hash)):
            events = db.session.exec(select(Event).where(Event.appeal_id == appeal_id).order_by(Event.seq)).all()
            if verify_chain(reference, events, head):
                broken += 1
                log.error("audit: the event chain of %s is broken", reference)
        log.info("daily audit at %s: %d broken chains", now().isoformat(), broken)


def retention_job(app: Flask) -> None:
    """Erase the personal data of the appeals whose retention period has ended (casework/retention.py)."""
    from casework import retention

    with app.app_context(), only_one(db.engine, RETENTION_LOCK) as mine:
        if not mine:
            log.info("retention: another scheduler is running it")
            return
        if retention.retention_years() is None:
            log.info("retention: switched off (RETENTION_YEARS is None)")
            return
        result = retention.erase()
    for error in result.errors[:20]:
        log.error("retention: %s", error)
    log.info("retention: %s", result.summary())


def build(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    # misfire_grace_time=None: a run that came due while the process was busy or down still runs;
    # coalesce: missed runs collapse into one; max_instances=1: sweeps never overlap in a process.
    options = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
    scheduler.add_job(sweep_job, IntervalTrigger(minutes=1), args=[app], id="deadline-sweep",
                      next_run_time=now(), **options)
    scheduler.add_job(delivery_job, IntervalTrigger(minutes=1), args=[app], id="notice-delivery",
                      next_run_time=now(), **options)
    scheduler.add_job(daily_job, CronTrigger(hour=2, minute=15), args=[app], id="daily-audit", **options)
    # An hour after the audit, which it does not wait for: each appeal's chain is verified again
    # right before its erasure, and a broken one is left as it is.
    scheduler.add_job(retention_job, CronTrigger(hour=3, minute=15), args=[app], id="daily-retention", **options)
    return scheduler


def run(app: Flask) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler = build(app)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=True))
    log.info("scheduler started: deadline sweep and notice delivery every minute, daily audit at 02:15 UTC, "
             "erasure of personal data past retention at 03:15 UTC")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    log.info("scheduler stopped")
