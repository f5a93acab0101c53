"""The current time, in one place, so that tests can freeze it and deadlines are reproducible."""

from datetime import datetime, timezone


def now() -> datetime:
    """The current time as an aware UTC datetime, to the microsecond."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (as the database stores it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` suffix, as the API promises for every time it returns."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def days_left(due_at: datetime, moment: datetime) -> int:
    """Whole days until a deadline; negative once it has passed (-1 on the first day late)."""
    left = (due_at - moment).total_seconds() / 86400
    return int(left) if left >= 0 else -int(-left) - 1
