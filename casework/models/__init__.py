"""Casework's tables. Importing this package registers every model with the metadata."""

from casework.models.appeals import (  # noqa: F401
    BENEFITS,
    DEADLINE_STATUSES,
    NOTICE_STATUSES,
    Appeal,
    AppealCountry,
    Deadline,
    Document,
    Event,
    Notice,
    QueueEntry,
)
from casework.models.entitlement import PERIOD_STATUSES, Calculation, InsurancePeriod  # noqa: F401
from casework.models.people import STAFF_ROLES, ApiToken, Claimant, PersonalId, User  # noqa: F401
from casework.models.reference import DEFAULT_TRIBUNALS, Institution, Tribunal  # noqa: F401
