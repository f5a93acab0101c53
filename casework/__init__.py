"""Casework: appeals against cross-border social security decisions, from lodging through
review, mediation and the cross-border tribunal, against legal deadlines."""

from __future__ import annotations

import os
import secrets

from flask import Flask


def _ensure_secret_key(app: Flask) -> None:
    """Generate a secret key into the instance folder on first start, so sessions and access-code
    hashes survive restarts without anyone having to configure one."""
    if app.config.get("SECRET_KEY"):
        return
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        app.config["SECRET_KEY"] = handle.read().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Defaults, then ``instance/config.py``, then ``CASEWORK_*`` environment, then ``test_config``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=(test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("CASEWORK_INSTANCE_PATH")
        or os.path.join(root, "instance"),
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "casework", "static"),
    )
    app.config.from_object("casework.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CASEWORK")
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    _ensure_secret_key(app)

    from casework import api, cli, errors, i18n, logs, ratelimits, security, web
    from casework.db import db

    logs.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    ratelimits.init_app(app)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
