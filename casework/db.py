"""The database: one engine per application, one session per request or command, committed once.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every connection.
Transactions that will write start with ``BEGIN IMMEDIATE`` on SQLite, so two writers queue for
the lock instead of one failing half-way with a stale snapshot; PostgreSQL needs none of this.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine
from werkzeug.routing import IntegerConverter

from casework import models

BIGGEST_ROW_ID = 2**31 - 1


class RowId(IntegerConverter):
    """A number in an address names a row: 1 to 2³¹−1, what an INTEGER column (every id and
    number of Casework's tables) holds on PostgreSQL. Anything else matches no route (404), where
    it would overflow the column or the driver (a 500)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = 1, max: int | None = BIGGEST_ROW_ID,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

_writing = contextvars.ContextVar("casework_writing", default=False)
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x43617365  # the advisory lock PostgreSQL processes take to migrate one at a time


def database_url(app: Flask) -> str:
    url = app.config.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(app.instance_path, "casework.db")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # hide_parameters: a database error names the statement, never the values bound to it (names,
    # e-mail addresses), so its message and traceback can go to the logs.
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("Casework needs a SQLite file (several connections share it), not an in-memory database")
    # Pooled connections: opening one costs a file open and the PRAGMAs below on every transaction.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=5, max_overflow=20,
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN, so it can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")

    return engine


@contextlib.contextmanager
def writing():
    """Mark the transactions opened inside as writers (``BEGIN IMMEDIATE`` on SQLite)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def alembic_config() -> Config:
    """Alembic's settings, from code: the scripts in ``casework/migrations``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_differences(connection: Connection) -> list:
    """What the database's schema lacks or has beyond the models (Alembic's comparison)."""
    from casework.migrations.options import options

    context = MigrationContext.configure(connection, opts=options(connection))
    return compare_metadata(context, SQLModel.metadata)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision`` (the newest by default); returns (before, after).

    Every process runs this when it starts, so the first command that needs the database
    creates or migrates it. Processes starting together queue for a lock (PostgreSQL's advisory
    lock, SQLite's write lock) and those that come second find the work done. A database made
    before migrations existed is taken over if its schema already matches the models."""
    head = head_revision()
    if revision == "head":
        with engine.connect() as connection:
            if current_revision(connection) == head:
                return head, head
    with writing(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        before = current_revision(connection)
        if before is None and inspect(connection).has_table("appeal"):
            differences = schema_differences(connection)
            if differences:
                raise RuntimeError(
                    "This database was made before Casework had migrations and its tables differ from "
                    f"the current ones ({len(differences)} differences, first: {differences[0]}). "
                    "Start from a new database (for the embedded default, delete instance/casework.db)."
                )
            command.stamp(_with_connection(connection), "head")
            return None, head
        if revision != "head" or before != head:
            command.upgrade(_with_connection(connection), revision)
        return before, current_revision(connection)


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Take the schema back to ``revision`` ("base": no tables); returns (before, after)."""
    with writing(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        before = current_revision(connection)
        command.downgrade(_with_connection(connection), revision)
        return before, current_revision(connection)


def _with_connection(connection: Connection) -> Config:
    config = alembic_config()
    config.attributes["connection"] = connection
    return config


def seed_reference_data(engine: Engine) -> None:
    """The reference data every installation starts with (the default tribunal), once: processes
    starting together may all find it missing, so each inserts what is not there yet and none
    fails on another's row."""
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[engine.dialect.name]
    with writing(), engine.begin() as connection:
        connection.execute(insert(models.Tribunal).values(list(models.DEFAULT_TRIBUNALS)).on_conflict_do_nothing())


def _mark_writing_request() -> None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        g.writing_token = _writing.set(True)


def _unmark_writing_request(_exc=None) -> None:
    token = g.pop("writing_token", None)
    if token is not None:
        _writing.reset(token)


class Database:
    """Binds an engine to the app; ``db.session`` is the current request's or command's session."""

    def init_app(self, app: Flask) -> None:
        # Before any route is added: every <int:…> in an address is a row id (see RowId).
        app.url_map.converters["int"] = RowId
        engine = make_engine(database_url(app))
        app.extensions["casework.db"] = engine
        upgrade(engine)
        seed_reference_data(engine)
        app.before_request(_mark_writing_request)
        app.teardown_request(_unmark_writing_request)
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["casework.db"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    def new_session(self) -> Session:
        """A session of its own, for work committed in several transactions (the sweep)."""
        return Session(self.engine, expire_on_commit=False)

    @staticmethod
    def _close_session(_exc=None) -> None:
        if has_app_context():
            session = g.pop("db_session", None)
            if session is not None:
                session.close()


db = Database()

