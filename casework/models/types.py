"""Column types shared by the models."""

from datetime import datetime

from sqlalchemy.types import DateTime, TypeDecorator

from casework.clock import as_utc


class UTCDateTime(TypeDecorator):
    """Stores times as naive UTC (SQLite keeps no offset) and always hands back aware UTC times,
    so no comparison ever mixes naive and aware values."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return as_utc(value)
