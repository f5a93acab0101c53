"""The scheduler process: its jobs, the daily audit, and the lock that lets one of several
scheduler processes run the daily checks."""

from __future__ import annotations

import logging

from sqlalchemy import text

from casework import scheduler


def test_jobs_and_their_timing(app):
    jobs = {job.id: job for job in scheduler.build(app).get_jobs()}
    assert set(jobs) == {"deadline-sweep", "notice-delivery", "daily-audit", "daily-retention"}
    for job in jobs.values():
        # A run missed while the process was down still happens once; runs never overlap.
        assert job.misfire_grace_time is None and job.coalesce and job.max_instances == 1
    assert str(jobs["deadline-sweep"].trigger) == "interval[0:01:00]"
    assert "hour='2', minute='15'" in str(jobs["daily-audit"].trigger)
    assert "hour='3', minute='15'" in str(jobs["daily-retention"].trigger)  # after the audit


def test_the_daily_audit_names_a_broken_chain(app, factory, caplog):
    appeal = factory.appeal("under_review")
    caplog.set_level(logging.INFO, logger="casework.scheduler")
    scheduler.daily_job(app)
    assert "0 broken chains" in caplog.text
    with app.extensions["casework.db"].begin() as connection:
        connection.execute(text("UPDATE event SET actor = 'someone else' WHERE seq = 2"))
    caplog.clear()
    scheduler.daily_job(app)
    assert f"the event chain of {appeal['reference']} is broken" in caplog.text
    assert "1 broken chains" in caplog.text


def test_one_scheduler_runs_the_daily_checks(app):
    engine = app.extensions["casework.db"]
    with scheduler.only_one(engine, scheduler.DAILY_LOCK) as first:
        with scheduler.only_one(engine, scheduler.DAILY_LOCK) as second:
            assert first is True
            # On PostgreSQL the second process (another connection) is told to leave it; SQLite
            # schedulers share one machine and the check only reads.
            assert second is (engine.dialect.name != "postgresql")
    with scheduler.only_one(engine, scheduler.DAILY_LOCK) as again:
        assert again is True  # released
