"""Serving Casework with gunicorn::

    gunicorn -c python:casework.gunicorn_conf "casework:create_app()"

Settings come from the environment, beside the application's own ``CASEWORK_*`` settings
(``CASEWORK_DATABASE_URL``, ``CASEWORK_SECRET_KEY``, ``CASEWORK_INSTANCE_PATH``: every worker
builds the app from them):

``CASEWORK_BIND``             address(es) to listen on, comma-separated (default ``127.0.0.1:8000``;
                              put a reverse proxy with TLS in front, see ``forwarded_allow_ips``)
``CASEWORK_WORKERS``          worker processes (default 2 × cores + 1, at least 2)
``CASEWORK_THREADS``          threads per worker (default 4)
``CASEWORK_TIMEOUT``          seconds a silent worker lives before it is killed (default 30)
``CASEWORK_MAX_REQUESTS``     requests after which a worker is replaced (default 10000; 0: never)
``CASEWORK_ACCESS_LOG``       ``-`` (stdout, the default), a file, or ``off``
``CASEWORK_LOG_LEVEL``        gunicorn's error log level (default ``info``)
``CASEWORK_CONTROL_SOCKET``   path of gunicorn's control socket (``gunicornc``); none by default

Operating it (signals to the master, whose pid ``--pid FILE`` can write down):

* graceful restart (new code or settings; workers finish their requests first): ``kill -HUP <pid>``
* graceful stop: ``kill -TERM <pid>`` (workers get ``graceful_timeout`` to finish)
* one worker more or fewer: ``kill -TTIN <pid>`` / ``kill -TTOU <pid>``

The web workers never run the scheduler: the deadline sweep, notice delivery and daily checks
run in a separate process, ``flask --app casework scheduler`` (one or more; see
casework/scheduler.py), started and supervised on its own.
"""

from __future__ import annotations

import gc
import multiprocessing
import os


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


# --- where and how many ----------------------------------------------------------------------------

bind = [address.strip() for address in os.environ.get("CASEWORK_BIND", "127.0.0.1:8000").split(",") if address.strip()]

workers = _int("CASEWORK_WORKERS", max(2, 2 * multiprocessing.cpu_count() + 1), minimum=1)

# gthread: each worker is a process with a small pool of threads. Every request does blocking
# work (SQLite or PostgreSQL through SQLAlchemy, file reads and writes for evidence), so an
# event-loop worker (gevent, eventlet) would gain nothing without patching the database driver
# and would stall the whole worker on every query. Against the plain sync worker, threads let
# one worker overlap its waits on PostgreSQL and on slow clients (a claimant uploading 10 MB
# of evidence over a phone connection does not hold the whole process), and gthread keeps HTTP
# connections alive. CPU-bound Python holds the GIL, so throughput comes from the processes
# (workers); the threads are few. The app is written for threads: one engine per process with
# a connection pool (5 + 20 overflow, more than the threads), one session per request (Flask's
# context), nothing shared mutable between requests (see casework/deadlines/calendar.py).
# A kept-alive connection stays with the worker that accepted it: a client (or a proxy's upstream
# keep-alive pool) that opens a few connections at once can land them all on one worker while
# another idles (bench/serve.py sees it with wrk); plain proxy_pass without upstream keep-alive
# opens a connection per request, which the idle workers race to accept.
worker_class = "gthread"
threads = _int("CASEWORK_THREADS", 4, minimum=1)

# --- lifetimes -----------------------------------------------------------------------------------

timeout = _int("CASEWORK_TIMEOUT", 30, minimum=1)
# On SIGTERM or SIGHUP a worker stops taking connections and gets this long to finish its
# requests (an upload, the yearly metrics report) before it is killed.
graceful_timeout = 30
keepalive = 5  # seconds an idle kept-alive connection is held (a proxy in front keeps its own)

# Memory safety: a worker is replaced after about this many requests, so a slow leak (in a
# library, a cache) can never grow without bound. The jitter spreads the replacements out so the
# workers do not all restart at once. Each new worker pays an import of the app (about a second
# of CPU, see preload_app): keep this in the thousands.
max_requests = _int("CASEWORK_MAX_REQUESTS", 10_000)
max_requests_jitter = max_requests // 10

# Each worker imports the app and calls create_app() itself, after the fork: every worker opens
# its own database engine and connection pool (a SQLite connection or a PostgreSQL socket must
# never be shared between processes), and a graceful restart (HUP) loads new code.
preload_app = False

# The worker heartbeat is a file touched continuously; on a disk-backed /tmp that can block.
# (bandit B108: gunicorn creates its heartbeat files there with mkstemp, private to the user.)
if os.path.isdir("/dev/shm"):  # nosec B108
    worker_tmp_dir = "/dev/shm"  # nosec B108

# gunicorn (25.1+) opens a control socket for ``gunicornc`` at one fixed path per user by
# default, which two servers on one host would both claim; it is opened only where asked for.
if os.environ.get("CASEWORK_CONTROL_SOCKET"):
    control_socket = os.environ["CASEWORK_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# X-Forwarded-For/-Proto are trusted only from these addresses (gunicorn's default: this host,
# where the reverse proxy runs).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

proc_name = "casework"

# --- logs ----------------------------------------------------------------------------------------

# No personal data in the logs: the path only (%(U)s), never the query string (%(q)s, or the
# request line %(r)s that contains it) nor the referrer (%(f)s, another page's address with its
# query); no request headers (X-Access-Code, Authorization, cookies) and no user agent. Casework
# never puts an access code or a token in a URL; a reference alone opens nothing.
_access_log = os.environ.get("CASEWORK_ACCESS_LOG", "-")
accesslog = None if _access_log.lower() in ("off", "none", "") else _access_log
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("CASEWORK_LOG_LEVEL", "info")


# --- hooks ---------------------------------------------------------------------------------------

def on_starting(server):
    # No scheduler here, in the master or after the fork in the workers: with several workers
    # (and several hosts) each would run the sweep and the deliveries again. The scheduler is
    # its own process: ``flask --app casework scheduler``.
    server.log.info("Casework web server: %d workers × %d threads (%s); the scheduler runs separately "
                    "(flask --app casework scheduler)", server.cfg.workers, server.cfg.threads,
                    server.cfg.worker_class_str)


def post_worker_init(worker):
    # The app is built: everything made so far lives as long as the worker. Moving it out of
    # the garbage collector's generations spares every full collection a walk over it (at one
    # million appeals, collections of ~0.1 s were most of the officer queue's p99).
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    # Nothing to reset: preload_app is False, so the app, its engine and its pool do not exist
    # yet; the worker creates them when it loads "casework:create_app()". Nor is a scheduler
    # started here (see on_starting).
    server.log.debug("worker %s forked", worker.pid)
