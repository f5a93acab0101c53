"""How Alembic compares and writes the schema: shared by the migration environment and by
``casework.db.schema_differences`` (the check that migrations and models agree)."""

from sqlalchemy import types
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from casework import models  # noqa: F401 - registers every table
from casework.models.types import UTCDateTime


def render_item(kind, obj, autogen_context):
    """Migrations name plain SQLAlchemy types, what the columns are in the database, so that a
    later change to a model's Python type never changes an old migration."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def compare_type(_context, _inspected_column, _metadata_column, inspected_type, metadata_type):
    """UTCDateTime is stored as a DATETIME (naive UTC); the rest as Alembic compares them."""
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, types.DateTime)
    return None


def options(connection: Connection) -> dict:
    return {
        "target_metadata": SQLModel.metadata,
        "render_as_batch": connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
        "render_item": render_item,
        "compare_type": compare_type,
    }
