"""Default settings. An installation overrides them in ``instance/config.py``, then with
``CASEWORK_*`` environment variables (``CASEWORK_DATABASE_URL``, ``CASEWORK_SECRET_KEY``…)."""

# None: SQLite in the instance folder, so a fresh checkout needs nothing installed or started.
DATABASE_URL = None
SECRET_KEY = None

# The tribunal escalations go to unless ROUTING says otherwise: {(handling_country, benefit): code},
# either part may be "*".
DEFAULT_TRIBUNAL = "CBSST"
TRIBUNAL_ROUTING: dict = {}

# Overrides of the legal rules (see casework/deadlines/calendar.py for the defaults):
# FILING_WINDOWS = {"FR": "3 months"}; STAGE_PERIODS = {"review": "45 days"};
# TIMEZONES = {"ES": "Atlantic/Canary"}; HOLIDAY_SUBDIVISIONS = {"DE": "BE"}.
FILING_WINDOWS: dict = {}
STAGE_PERIODS: dict = {}
TIMEZONES: dict = {}
HOLIDAY_SUBDIVISIONS: dict = {}

# Deadline sweep: rows fired per batch, and how long a failed row waits before its next try.
SWEEP_BATCH_SIZE = 200
SWEEP_RETRY_SECONDS = 300

# Keyset page size of lists (queue, referrals): default and maximum.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024
JSON_SORT_KEYS = False
