"""The ``/api/v1`` blueprint."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _check_request():
    from casework.api.spec import check_request

    check_request()


bp.before_request(_check_request)
