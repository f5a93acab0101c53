"""The database: one engine per application, one session per request or command, committed once.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every connection.
Transactions that will write start with ``BEGIN IMMEDIATE`` on SQLite, so two writers queue for
the lock instead of one failing half-way with a stale snapshot; PostgreSQL needs none of this.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from casework import models

_writing = contextvars.ContextVar("casework_writing", default=False)


def database_url(app: Flask) -> str:
    url = app.config.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(app.instance_path, "casework.db")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("Casework needs a SQLite file (several connections share it), not an in-memory database")
    # Pooled connections: opening one costs a file open and the PRAGMAs below on every transaction.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=5, max_overflow=20)

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


def create_schema(engine: Engine) -> None:
    """Create missing tables and the reference data every installation starts with. On SQLite
    the check and the creation share one IMMEDIATE transaction, so workers starting together
    do not race."""
    with writing(), engine.begin() as connection:
        SQLModel.metadata.create_all(connection)
    with writing(), Session(engine) as session:
        for tribunal in models.DEFAULT_TRIBUNALS:
            if session.get(models.Tribunal, tribunal["code"]) is None:
                session.add(models.Tribunal(**tribunal))
        session.commit()


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
        engine = make_engine(database_url(app))
        app.extensions["casework.db"] = engine
        create_schema(engine)
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

