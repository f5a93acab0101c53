"""Alembic migrations of the whole schema (``flask --app casework db ...``); see ``casework.db``."""
