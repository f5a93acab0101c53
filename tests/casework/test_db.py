"""The schema: migrations build exactly the models' tables on both databases, processes that
start together migrate once, and an older database is taken over or refused clearly."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from casework import create_app
from casework.db import current_revision, downgrade, head_revision, make_engine, schema_differences, upgrade



def test_migrations_build_the_models_schema(app):
    """Every table, column, type, nullability, index, unique and foreign key the models declare,
    and nothing else (the test database was built by the migrations, not from the models)."""
    engine = app.extensions["casework.db"]
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert schema_differences(connection) == []
        tables = set(inspect(connection).get_table_names())
    assert tables == {table.name for table in SQLModel.metadata.sorted_tables} | {"alembic_version"}


def test_check_constraints_come_from_the_migrations(app):
    engine = app.extensions["casework.db"]
    with engine.connect() as connection:
        checks = {c["name"] for c in inspect(connection).get_check_constraints("appeal")}
    assert {"appeal_state_known", "appeal_outcome_known", "appeal_outcome_iff_closed", "appeal_benefit_known"} <= checks


def test_downgrade_to_nothing_and_back(app):
    engine = app.extensions["casework.db"]
    assert downgrade(engine, "base") == (head_revision(), None)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    assert upgrade(engine) == (None, head_revision())
    with engine.connect() as connection:
        assert schema_differences(connection) == []


def _start(url: str, instance: str, barrier) -> str:
    barrier.wait()
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "DATABASE_URL": url, "INSTANCE_PATH": instance})
    engine = app.extensions["casework.db"]
    with engine.connect() as connection:
        revision = current_revision(connection)
    engine.dispose()
    return revision


def test_processes_starting_together_migrate_once(database_url, tmp_path):
    """Four workers start on an empty database at the same moment: one migrates, the others wait
    for it and find the schema done; the default tribunal is there once."""
    engine = make_engine(database_url)
    downgrade(engine, "base")
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(4)
    with context.Pool(4) as pool:
        revisions = pool.starmap(_start, [(database_url, str(tmp_path / f"i{n}"), barrier) for n in range(4)])
    assert revisions == [head_revision()] * 4
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM tribunal WHERE code = 'CBSST'")).scalar() == 1
    engine.dispose()


def test_a_database_from_before_migrations(tmp_path):
    """Tables made from the models without migrations are taken over (stamped); tables that
    differ are refused with a message saying what to do, and nothing is changed."""
    matching = make_engine(f"sqlite:///{tmp_path / 'matching.db'}")
    with matching.begin() as connection:
        SQLModel.metadata.create_all(connection)
    assert upgrade(matching) == (None, head_revision())
    with matching.connect() as connection:
        assert current_revision(connection) == head_revision()

    older = make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    with older.begin() as connection:
        SQLModel.metadata.create_all(connection)
        connection.execute(text("DROP INDEX ix_appeal_queue"))
    with pytest.raises(RuntimeError, match="made before Casework had migrations.*delete instance/casework.db"):
        upgrade(older)
    with older.connect() as connection:
        assert current_revision(connection) is None
    matching.dispose()
    older.dispose()


def test_commands(runner):
    assert runner.invoke(args=["db", "upgrade"]).output.strip() == f"schema at revision {head_revision()}"
    assert runner.invoke(args=["db", "current"]).output.strip() == f"{head_revision()} (newest)"
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0 and "the schema matches the models" in result.output


def test_check_names_a_difference(app, runner):
    with app.extensions["casework.db"].begin() as connection:
        connection.execute(text("DROP INDEX ix_appeal_queue"))
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 1
    assert "ix_appeal_queue" in result.output
