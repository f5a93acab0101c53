"""Fixtures: an app on a fresh database per test (SQLite always; PostgreSQL when
CASEWORK_TEST_DATABASE_URL is set), a client, and factories for staff and appeals."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from casework import create_app
from casework.db import make_engine, seed_reference_data, upgrade
from tests.factories import Factory

PG_URL = os.environ.get("CASEWORK_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


_fresh_schema = False


def _reset_postgres(url: str) -> None:
    """Empty every table; the first time in a run, build the schema again through the migrations
    (the database outlives test runs, and may hold the tables of an older checkout)."""
    global _fresh_schema
    engine = make_engine(url)
    if not _fresh_schema:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        _fresh_schema = True
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    seed_reference_data(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite database migrated to the newest revision once per run; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "casework.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed_reference_data(engine)
    engine.dispose()
    return path


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path, sqlite_template):
    if request.param == "postgresql":
        _reset_postgres(PG_URL)
        return PG_URL
    shutil.copy(sqlite_template, tmp_path / "casework.db")
    return f"sqlite:///{tmp_path / 'casework.db'}"


@pytest.fixture
def make_app(tmp_path, database_url):
    """Build an app on the test database; extra settings override the test defaults."""

    def build(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            # Page tests post forms without tokens; tests of CSRF itself turn it back on.
            "WTF_CSRF_ENABLED": False,
            **overrides,
        }
        return create_app(config)

    return build


@pytest.fixture
def app(make_app):
    app = make_app()
    yield app
    app.extensions["casework.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factory(app, client):
    return Factory(app, client)
