"""Default settings. An installation overrides them in ``instance/config.py``, then with
``CASEWORK_*`` environment variables (``CASEWORK_DATABASE_URL``, ``CASEWORK_SECRET_KEY``…)."""

from datetime import timedelta

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

# Case-file bundles: the Ed25519 key that signs them (a PEM file; None: generated into
# instance/signing-keys/ on first use, rotated with "flask --app casework keys rotate"), and the
# issuer they name (None: the address the bundle was fetched from).
SIGNING_KEY_FILE = None
BUNDLE_ISSUER = None
JSON_SORT_KEYS = False

# Notices. SMTP_URL (smtp://user:password@host:587?starttls=true, or smtps://host:465): deliver by
# e-mail; None: write .eml files to instance/outbox/. NOTICE_MAILBOXES maps the institutions and
# mediation services notices go to ("institution:DE", "mediation:DE") to e-mail addresses, exactly
# or by pattern: {"institution:*": "appeals-{country}@example.org"}. Unmapped ones are marked
# no_address (sent by post). A failed delivery is retried after OUTBOX_RETRY_SECONDS, doubling
# each time (at most 6 hours), OUTBOX_MAX_ATTEMPTS times.
NOTICES_ENABLED = True
# The language each country's institution reads its notices in, where it is not the country's
# own (e.g. {"BE": "de"} for an installation in the German-speaking Community).
INSTITUTION_LANGUAGES: dict = {}
SMTP_URL = None
SMTP_TIMEOUT = 30
NOTICE_SENDER = "Casework <notices@casework.invalid>"
NOTICE_MESSAGE_ID_DOMAIN = "casework.invalid"
NOTICE_MAILBOXES: dict = {}
OUTBOX_BATCH_SIZE = 100
OUTBOX_RETRY_SECONDS = 60
OUTBOX_MAX_ATTEMPTS = 10

# Staff sessions in the browser: they end 8 hours after the last request, or at sign-out. The
# cookie is HttpOnly and SameSite=Lax (and Secure when served over TLS: set SESSION_COOKIE_SECURE).
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
WTF_CSRF_TIME_LIMIT = None  # a form's token lives as long as the session it belongs to
