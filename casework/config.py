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

# Retention (casework/retention.py): the personal data of an appeal closed longer ago than this many
# years (names, contact details, personal ids, grounds and other free text, documents, notice texts)
# is erased by the scheduler's daily job; its events, outcome and dates stay, so published metrics
# and the hash chain are unchanged. None: nothing is erased (e.g. while records are held for a case).
RETENTION_YEARS = 10

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

# API tokens ("flask --app casework tokens issue EMAIL [--days N]") expire this many days after
# they are issued; a script that needs one for longer is given a new one before then. None: new
# tokens never expire (not recommended: a token that leaks stays good until someone revokes it).
API_TOKEN_DAYS = 90

# Staff sessions in the browser: they end 8 hours after the last request, or at sign-out. The
# cookie is HttpOnly and SameSite=Lax, and Secure on every request that reached the app over TLS
# (casework/security.py). Behind a proxy that ends TLS without telling the app (gunicorn's
# forwarded_allow_ips and X-Forwarded-Proto, or PROXY_FIX_X_PROTO), set SESSION_COOKIE_SECURE = True.
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
WTF_CSRF_TIME_LIMIT = None  # a form's token lives as long as the session it belongs to

# Strict-Transport-Security, sent on responses to requests that came over TLS (None: never).
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

# A reverse proxy in front: how many proxies' X-Forwarded-For (the client address, which rate
# limits count and logs name) and X-Forwarded-Proto (https) to believe, through werkzeug's
# ProxyFix. 0: none, the peer's address is the client's. Set only where every request comes
# through the proxy (the app listening on 127.0.0.1 or a private network), or clients could
# claim any address. gunicorn already takes X-Forwarded-Proto from its forwarded_allow_ips.
PROXY_FIX_X_FOR = 0
PROXY_FIX_X_PROTO = 0

# Rate limits (casework/ratelimits.py), as "N per P" ("10 per 15 minutes", "20 per hour"), each
# counted in a window from its first hit. The counters live in each process's memory unless
# RATELIMIT_STORAGE_URL names a Redis server (redis://127.0.0.1:6379/0): with several workers or
# hosts, set it, or each process counts on its own (and a client gets that many times the limit).
RATELIMIT_ENABLED = True
RATELIMIT_STORAGE_URL = None
RATELIMIT_KEY_PREFIX = "casework"  # distinct per installation where several share one Redis
# Wrong access codes (or unknown references) per client address, and per reference from any
# address; then every attempt gets 429 with Retry-After, a right code too, until the window ends.
RATELIMIT_ACCESS_CODES = "10 per 15 minutes"
# Failed staff sign-ins per client address, and per e-mail address from any address.
RATELIMIT_SIGN_IN = "10 per 15 minutes"
# Appeals lodged per client address: through the public form (claimants, or an advice centre
# helping several), and by officers through the API (paper filings entered one after another).
RATELIMIT_LODGE_WEB = "20 per hour"
RATELIMIT_LODGE_API = "500 per hour"

# Logs (casework/logs.py): one JSON object per line on stderr, every request under an id.
# LOG_JSON None: on, except in tests; False: leave logging as Python and gunicorn set it up.
LOG_JSON = None
LOG_LEVEL = "INFO"
# Take the request id from a well-formed X-Request-Id (the proxy's, e.g. nginx's $request_id) so
# that its logs and ours join; False where clients reach the app directly.
TRUST_REQUEST_ID = True
