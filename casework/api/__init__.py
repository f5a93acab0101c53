"""The JSON API of API.md, under ``/api/v1``, and ``/healthz``."""

from flask import Flask, jsonify
from spectree import Response
from sqlalchemy import text

from casework import schemas
from casework.api import appeals, documents, entitlement, status, tribunal  # noqa: F401 - register the routes
from casework.api.blueprint import bp
from casework.api.spec import check_request, spec
from casework.db import db


# Credentials, then the body's form, before spectree validates any field.
bp.before_request(check_request)
# Uploads are multipart: credentials, then the announced size, before a byte of the body is read.
documents.bp.before_request(documents.check_document_request)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(tribunal.published)

    @app.get("/healthz")
    @spec.validate(resp=Response(HTTP_200=schemas.HealthOut, HTTP_503=schemas.HealthOut), tags=["health"])
    def healthz():
        """Liveness and database reachability, for load balancers."""
        try:
            db.session.exec(text("SELECT 1"))
        except Exception:  # any database failure means "not healthy", whatever its kind
            return jsonify({"status": "degraded", "database": "unavailable"}), 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.get("/api/v1/openapi.json")
    def openapi():
        """The OpenAPI 3 document, generated from the schemas that validate requests."""
        return jsonify(spec.spec)

    spec.register(app)
