"""How often one client may guess or lodge before it must wait (429 with ``Retry-After``).

Guesses (an appeal's access code, a staff password) count only when they fail, per client
address and per thing guessed at (the reference, the e-mail address): many addresses against
one appeal get no further than one address against many appeals. While either count is used
up, every attempt is refused, a right one too, so guessing cannot go on, and a right answer
never resets a count (or an attacker would interleave their own appeal's code). A wrong code
and an unknown reference count alike and are refused alike.

Lodging counts the appeals lodged per client address, through the public form and by officers
through the API.

Counters live in the process (memory) unless ``RATELIMIT_STORAGE_URL`` names a Redis server,
which every worker and host then share. Windows start at the first failure and last the period
of the limit ("10 per 15 minutes"). When the storage cannot be reached, requests go through
(and the failure is logged): a lock-out of every claimant would be worse than a pause in counting
guesses at codes of 120 bits.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_qualified_name
from limits import RateLimitItem, parse
from limits.errors import StorageError

from casework.errors import RateLimited, api_error_response

log = logging.getLogger(__name__)


def client_address() -> str:
    """Whom the limits count: the peer's address (the proxy's client with ``PROXY_FIX_X_FOR``).
    An IPv6 client is handed a whole /64 network, so the network counts as one client."""
    return _counted_as(request.remote_addr or "unknown")


@functools.lru_cache(maxsize=4096)
def _counted_as(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return f"{ipaddress.ip_network(f'{ip}/64', strict=False).network_address}/64"
    return str(ip)


# Bound to the app in init_app (storage and switch from its config). Fixed windows: the count
# starts at the first hit and ends a whole period later, which is what Retry-After tells.
limiter = Limiter(
    key_func=client_address,
    strategy="fixed-window",
    swallow_errors=True,  # storage down: let requests through, logged (see the module docstring)
    storage_options={"wrap_exceptions": True, "socket_connect_timeout": 1, "socket_timeout": 1},
)


_parsed = functools.lru_cache(maxsize=64)(parse)  # "10 per 15 minutes" read once, not on every request


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


@dataclass(frozen=True)
class Guesses:
    """Failed guesses at one kind of secret, counted per client address and per subject."""

    name: str
    setting: str  # the config key of the limit, e.g. "10 per 15 minutes"
    hide_subject: bool = False  # keep only a keyed hash of the subject in the storage

    def _item(self) -> RateLimitItem:
        return _parsed(current_app.config[self.setting])

    def _keys(self, subject: str) -> list[tuple[str, ...]]:
        subject = subject.strip()[:200]
        if self.hide_subject:
            key = current_app.config["SECRET_KEY"].encode()
            subject = hmac.new(key, subject.lower().encode(), hashlib.sha256).hexdigest()[:32]
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        return [(prefix, self.name, "address", client_address()), (prefix, self.name, "subject", subject)]

    def check(self, subject: str) -> None:
        """Refuse (429) while this client or this subject has no failures left."""
        if not _enabled():
            return
        item, strategy, waits = self._item(), limiter.limiter, []
        try:
            for key in self._keys(subject):
                if not strategy.test(item, *key):
                    waits.append(strategy.get_window_stats(item, *key).reset_time - time.time())
        except StorageError:
            log.exception("rate limit storage unreachable: %s not checked", self.name)
            return
        if waits:
            raise RateLimited(max(waits))

    def failed(self, subject: str) -> None:
        """Count a failed guess against this client and this subject."""
        if not _enabled():
            return
        item = self._item()
        try:
            for key in self._keys(subject):
                limiter.limiter.hit(item, *key)
        except StorageError:
            log.exception("rate limit storage unreachable: failed %s not counted", self.name)


ACCESS_CODES = Guesses("access-code", "RATELIMIT_ACCESS_CODES")
SIGN_IN = Guesses("sign-in", "RATELIMIT_SIGN_IN", hide_subject=True)  # no e-mail addresses in Redis


def _lodged(response) -> bool:
    return response.status_code in (200, 201)


# The views that carry a limit of their own (by name, as Flask-Limiter finds them).
_LIMITED_VIEWS: set[str] = set()


def lodging(setting: str):
    """Decorate a lodging view: the appeals lodged from one client address, per ``setting``."""
    route_limit = limiter.limit(lambda: current_app.config[setting], methods=["POST"], deduct_when=_lodged)

    def decorate(view):
        _LIMITED_VIEWS.add(get_qualified_name(view))
        return route_limit(view)

    return decorate


@limiter.request_filter
def _without_limits() -> bool:
    """Every other request skips Flask-Limiter's search for limits that apply to it (a few
    dozen microseconds on each request, the claimant's status among them)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return view is None or get_qualified_name(view) not in _LIMITED_VIEWS


def _refused(_error: RateLimitExceeded):
    """Flask-Limiter's refusal in the API's shape (or as a page), with ``Retry-After``."""
    current = limiter.current_limit
    return api_error_response(RateLimited(current.window.reset_time - time.time() if current else 60))


def init_app(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATELIMIT_STORAGE_URL"] or "memory://"
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _refused)
