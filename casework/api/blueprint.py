"""The ``/api/v1`` blueprint."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
