"""Fixtures: an app on a fresh database per test (SQLite always; PostgreSQL when
CASEWORK_TEST_DATABASE_URL is set), a client, and factories for staff and appeals."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from jinja2.bccache import BytecodeCache
from sqlalchemy import make_url, text
from sqlmodel import SQLModel
from werkzeug.routing.rules import Rule

from casework import create_app
from casework.db import make_engine, seed_reference_data, upgrade
from tests.factories import Factory

PG_URL = os.environ.get("CASEWORK_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


# --- parallel workers (pytest-xdist, pytest.ini) ---------------------------------------------------

def pytest_configure(config):
    """Each worker process of a parallel run (``gw0``, ``gw1``...) tests against a PostgreSQL
    database of its own, ``<name>_<worker>`` beside the one named, made the first time: a test's
    reset would otherwise empty the tables under another worker's test. Set before any test
    module is imported, so every ``PG_URL`` and ``CASEWORK_TEST_DATABASE_URL`` of the run names it."""
    global PG_URL
    worker = getattr(config, "workerinput", {}).get("workerid")
    if not PG_URL or not worker:
        return
    PG_URL = own_database(PG_URL, worker)
    os.environ["CASEWORK_TEST_DATABASE_URL"] = PG_URL


# The files that take longest (a minute or more of a worker's time on both databases) start
# first: a worker that picked one of them up last would run on alone at the end of the run.
LONGEST_FIRST = ("tests/casework/api/test_schemathesis.py", "tests/casework/test_concurrency.py",
                 "tests/casework/test_role_matrix.py", "tests/casework/test_stateful.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST_FIRST)  # stable: the rest as collected


def own_database(url: str, suffix: str) -> str:
    """The URL of database ``<name>_<suffix>`` on the server of ``url``, created if missing."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


# --- what every app of the run would compile alike, compiled once --------------------------------
#
# Each test builds its own app (create_app), and most of that time went to compiling the same
# code again: werkzeug compiles a URL builder for each of the app's routes, and Jinja compiles
# each template a test renders. Both are pure functions of what they compile, so the run keeps
# the results and every app still gets its own routes, environment and state.

_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _cached_compile_builder(self, append_unknown: bool = True):
    """werkzeug's URL builder for a rule, compiled once per distinct rule. The code generated
    depends only on the rule's parsed parts (``_trace``), the names of its defaults and
    ``append_unknown``; it reads the rule's converters through ``self`` when called. A default
    given for a variable of the rule is baked into the code, through that rule's converter: such
    rules are compiled every time, as before."""
    defaults = self.defaults or {}
    if any(dynamic and data in defaults for dynamic, data in self._trace):
        return _compile_builder(self, append_unknown)
    key = (self.rule, append_unknown, tuple(self._trace), tuple(defaults))
    if key not in _builders:
        _builders[key] = _compile_builder(self, append_unknown)
    return _builders[key]


Rule._compile_builder = _cached_compile_builder


class _RunBytecodeCache(BytecodeCache):
    """Jinja's compiled templates, kept in memory for the run and shared by the tests' apps.
    Jinja checks each template's source against the checksum stored with its code; the key adds
    what of the environment changes the generated code, so an app configured otherwise compiles
    its own."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def get_cache_key(self, name, filename=None):
        return hashlib.sha1(f"{name}|{filename}|{self.fingerprint}".encode()).hexdigest()

    def load_bytecode(self, bucket):
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


def _environment_fingerprint(env) -> str:
    options = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
               "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
               "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
               "is_async")
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else getattr(
        env.autoescape, "__qualname__", repr(env.autoescape))
    return repr([getattr(env, option, None) for option in options] + [autoescape, sorted(env.extensions),
                                                                      env.undefined.__qualname__])


_TEMPLATE_CACHES: dict[str, _RunBytecodeCache] = {}


def _share_compiled_templates(app) -> None:
    fingerprint = _environment_fingerprint(app.jinja_env)
    cache = _TEMPLATE_CACHES.setdefault(fingerprint, _RunBytecodeCache())
    cache.fingerprint = fingerprint
    app.jinja_env.bytecode_cache = cache


_fresh_schema = False
# What each table holds right after a reset: its total size (heap, indexes, TOAST) and, for the
# reference table the reset seeds, its rows with their physical address and inserting transaction.
_clean: dict[str, tuple] = {}

_TABLE_STATE = text("""
    SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'
""")
_USED_SEQUENCES = text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL")


def _table_state(conn) -> dict[str, tuple]:
    """Per table, what shows whether anything was written to it since the last reset: its total
    size (any row inserted, even if deleted or rolled back since, leaves a heap page, and index
    pages that never shrink), and for the seeded ``tribunal`` also its rows' ``ctid``/``xmin``
    and values (an update or a replaced row changes them)."""
    state = {name: (size,) for name, size in conn.execute(_TABLE_STATE)}
    if "tribunal" in state:
        rows = conn.execute(text("SELECT ctid::text, xmin::text, t::text FROM tribunal t ORDER BY ctid")).all()
        state["tribunal"] += (tuple(map(tuple, rows)),)
    return state


def _reset_postgres(url: str) -> None:
    """Bring the database back to the state of a freshly migrated, seeded one; the first time in
    a run, build the schema again through the migrations (the database outlives test runs, and
    may hold the tables of an older checkout).

    Every table written to since the last reset is emptied with TRUNCATE ... RESTART IDENTITY
    (new, empty files: the same physical state as a fresh schema, which DELETE would not give),
    and every sequence used since is restarted: exactly what truncating all tables did, but
    TRUNCATE costs several milliseconds per table, and most tests write to only some of them.
    A table counts as untouched only if it is exactly as the last reset left it (see
    ``_table_state``); a table that is not known (a new schema) is truncated."""
    global _fresh_schema
    engine = make_engine(url)
    if not _fresh_schema:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        _fresh_schema = True
        _clean.clear()
    names = [t.name for t in SQLModel.metadata.sorted_tables]
    with engine.begin() as conn:
        # No wait for the WAL flush of the reset itself: what other sessions then see is the
        # same, and only a crash of the server could lose it.
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        state = _table_state(conn)
        dirty = [name for name in names if name not in _clean or state.get(name) != _clean[name]]
        if dirty:
            tables = ", ".join(f'"{name}"' for name in dirty)
            # CASCADE: a table referring to a truncated one is emptied too (it must be empty
            # already, or it would be dirty itself).
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for sequence in conn.execute(_USED_SEQUENCES).scalars().all():
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    seed_reference_data(engine)
    with engine.connect() as conn:
        _clean.clear()
        _clean.update(_table_state(conn))
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
        app = create_app(config)
        _share_compiled_templates(app)
        return app

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
