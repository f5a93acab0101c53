"""Alembic's environment. Migrations always run from ``casework.db.upgrade`` (or the ``db``
commands) on a connection it has opened and locked, never from an ``alembic.ini``."""

from alembic import context

from casework.migrations.options import options

connection = context.config.attributes["connection"]
context.configure(connection=connection, **options(connection))
with context.begin_transaction():
    context.run_migrations()
