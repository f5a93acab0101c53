"""The floor for bench/serve.py (DESIGN §7): a bare Flask app, no Casework code, served by the same
gunicorn command and configuration as Casework::

    FLOOR_DATABASE=/tmp/…/casework.db gunicorn -c python:casework.gunicorn_conf bench.floor_app:app

``GET /hello``              → ``{"ok": true}``
``GET /lookup/<reference>`` → one indexed lookup by ``reference`` (its unique index) in the
                              ``appeal`` table of that SQLite database, a few columns as JSON;
                              404 when there is no such row.

One sqlite3 connection per thread (gunicorn's gthread workers), opened on first use after the
fork, read only (``PRAGMA query_only``).
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, jsonify

app = Flask(__name__)
_local = threading.local()

LOOKUP = ("SELECT reference, state, outcome, benefit, handling_country, lodged_at "
          "FROM appeal WHERE reference = ?")
COLUMNS = ("reference", "state", "outcome", "benefit", "handling_country", "lodged_at")


def connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["FLOOR_DATABASE"], timeout=30)
        conn.execute("PRAGMA query_only=1")
        _local.conn = conn
    return conn


@app.get("/hello")
def hello():
    return jsonify({"ok": True})


@app.get("/lookup/<reference>")
def lookup(reference: str):
    row = connection().execute(LOOKUP, (reference,)).fetchone()
    if row is None:
        return jsonify({"error": "not_found"}), 404
    return jsonify(dict(zip(COLUMNS, row)))
