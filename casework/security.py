"""What every response tells the browser, and what the app believes about where a request came
from: security headers, caching of personal data, the session cookie over TLS, and the reverse
proxy in front.

The pages need nothing from elsewhere and have no inline script or style, so the Content
Security Policy allows this site's own files only; no page may be framed. Every answer with
personal data (staff and claimant pages, the API) is ``no-store``, so neither a shared cache nor
the browser's back button on a shared computer shows it again; only what anyone may read
(the start page, the published figures, the API's document and keys, the stylesheet) may be
cached.
"""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": Flask-WTF checks over HTTPS that a form was sent from this site by its
    # Referer, which same-origin still sends (to this site only, never to another).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

# What anyone may read and keep: no personal data in any of it.
PUBLIC_ENDPOINTS = frozenset({
    "static", "pages.home", "metrics.page", "api_metrics.report", "api_metrics.report_csv",
    "api_metrics.breakdown", "api_metrics.breakdown_csv", "api_published.keys", "openapi", "openapi_apidoc",
})


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked Secure on every request that came
    over TLS even where ``SESSION_COOKIE_SECURE`` is off (it may stay off for plain-HTTP use on
    one's own machine; set it on where TLS ends in a proxy that does not say so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # Over TLS only: a browser ignores it over plain HTTP, where anyone between could strip it.
    if request.is_secure and current_app.config["STRICT_TRANSPORT_SECURITY"]:
        response.headers.setdefault("Strict-Transport-Security", current_app.config["STRICT_TRANSPORT_SECURITY"])
    if "Cache-Control" not in response.headers and request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    x_for, x_proto = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"]
    if x_for or x_proto:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(x_for), x_proto=int(x_proto))
    app.session_interface = TlsAwareSessionInterface()
    if app.config["PREFERRED_URL_SCHEME"] == "https" and not app.config["SESSION_COOKIE_SECURE"]:
        app.logger.warning("SESSION_COOKIE_SECURE is off though PREFERRED_URL_SCHEME is https: the session cookie "
                           "is marked Secure only on requests that reach the app as https; behind a proxy that "
                           "ends TLS without saying so (X-Forwarded-Proto), set SESSION_COOKIE_SECURE = True")
    app.after_request(_headers)
