"""Factories for tests: staff with tokens, lodging bodies, and appeals brought to any state
through the real API (so every invariant of a real appeal holds)."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from werkzeug.security import generate_password_hash

from casework.access import issue_api_token, new_staff
from casework.db import db, writing
from casework.models import Tribunal, User

_counter = itertools.count(1)
STAFF_PASSWORD = "correct horse battery staple"

# The smallest files that are what they claim by content (PDF, PNG and JPEG signatures).
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@dataclass
class Staff:
    user_id: int
    email: str
    role: str
    country: str | None
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def lodge_body(**overrides) -> dict:
    """A valid lodging body (API.md's example); keyword overrides replace top-level or nested keys
    given as ``claimant__name="..."``."""
    body = {
        "claimant": {
            "name": "Ana Kowalska",
            "birth_date": "1958-03-14",
            "residence_country": "ES",
            "preferred_language": "pl",
            "email": "ana@example.org",
            "personal_ids": [{"country": "PL", "scheme": "PESEL", "value": "58031412345"}],
        },
        "contested_decision": {
            "institution_country": "DE",
            "institution_name": "Deutsche Rentenversicherung",
            "reference": "DRV-2026-55",
            "benefit": "old_age_pension",
            "decision_date": "2026-09-01",
            "notified_on": "2026-09-04",
        },
        "involved_countries": ["PL"],
        "grounds": "Contribution periods in Poland 1979-1990 were not aggregated.",
        "lodged_at": "2026-09-20T10:00:00Z",
    }
    for key, value in overrides.items():
        if "__" in key:
            outer, inner = key.split("__", 1)
            if value is None:
                body[outer].pop(inner, None)
            else:
                body[outer][inner] = value
        elif value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


# The actions that bring a fresh appeal (lodged with the competent DE institution) to each state.
PATH = {
    "lodged": [],
    "under_review": [("officer", {"action": "admit"})],
    "awaiting_information": [
        ("officer", {"action": "admit"}),
        ("officer", {"action": "request_information", "from": "claimant", "items": ["Certificates"]}),
    ],
    "awaiting_claimant": [
        ("officer", {"action": "admit"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "No proof of periods."}),
    ],
    "in_mediation": [
        ("officer", {"action": "admit"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "No proof of periods."}),
        ("officer", {"action": "request_mediation"}),
    ],
    "escalated": [
        ("officer", {"action": "admit"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "No proof of periods."}),
        ("officer", {"action": "request_tribunal"}),
    ],
    "before_tribunal": [
        ("officer", {"action": "admit"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "No proof of periods."}),
        ("officer", {"action": "request_tribunal"}),
        ("tribunal", {"action": "acknowledge_referral"}),
    ],
    "closed": [("officer", {"action": "withdraw"})],
}


# Who may fetch an appeal's case file (bundle, documents) lodged with DE and escalated to CBSST:
# the factory's staff arguments for each caller, and the status they get.
CASE_FILE_CALLERS = {
    "tribunal_CBSST": (dict(role="tribunal"), 200),
    "officer_handling_DE": (dict(role="officer", country="DE"), 200),
    "officer_involved_PL": (dict(role="officer", country="PL"), 404),
    "officer_unrelated_FR": (dict(role="officer", country="FR"), 404),
    "mediator_handling_DE": (dict(role="mediator", country="DE"), 404),
    "tribunal_other": (dict(role="tribunal", tribunal="OTHER"), 404),
    "oversight": (dict(role="oversight", country=None), 404),
    "admin": (dict(role="admin", country=None), 404),
    "anonymous": (None, 401),
}


class Factory:
    def __init__(self, app, client):
        self.app = app
        self.client = client
        self._staff: dict[tuple, Staff] = {}

    def staff(self, role: str = "officer", country: str | None = "DE", tribunal: str | None = None) -> Staff:
        """A staff user with a token; the same one for the same role and country."""
        if role == "tribunal":
            tribunal = tribunal or "CBSST"
            country = None
        key = (role, country, tribunal)
        if key not in self._staff:
            with self.app.app_context(), writing():
                email = f"{role}.{(country or tribunal or 'x').lower()}.{next(_counter)}@example.org"
                user = new_staff(db.session, email, role, None, country, tribunal)
                # Tests move the clock by months and years: their staff's tokens outlive that.
                token = issue_api_token(db.session, user, days=100 * 365)
                db.session.commit()
                self._staff[key] = Staff(user.id, email, role, country, token)
        return self._staff[key]

    def sign_in(self, role: str = "officer", country: str | None = "DE", tribunal: str | None = None,
                client=None) -> Staff:
        """Sign ``client`` (the factory's by default) in through the sign-in page as that staff user."""
        staff = self.staff(role, country, tribunal)
        with self.app.app_context(), writing():
            user = db.session.get(User, staff.user_id)
            user.password_hash = generate_password_hash(STAFF_PASSWORD)
            db.session.commit()
        response = (client or self.client).post("/sign-in", data={"email": staff.email, "password": STAFF_PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return staff

    def lodge(self, **overrides) -> dict:
        """Lodge through the API as an officer of the receiving country; returns the 201 body."""
        body = lodge_body(**overrides)
        country = body.get("lodged_with_country") or body["contested_decision"]["institution_country"]
        response = self.client.post("/api/v1/appeals", json=body, headers=self.staff("officer", country).headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def act(self, reference: str, role: str, action: dict, country: str = "DE", expect: int = 200) -> dict:
        appeal = self.get(reference)
        payload = {"version": appeal["version"], **action}
        staff = self.staff(role, country if role != "tribunal" else None)
        response = self.client.post(f"/api/v1/appeals/{reference}/actions", json=payload, headers=staff.headers)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def get(self, reference: str, country: str = "DE") -> dict:
        response = self.client.get(f"/api/v1/appeals/{reference}", headers=self.staff("officer", country).headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def appeal(self, state: str = "lodged", **overrides) -> dict:
        """An appeal brought to ``state`` through the API; returns its JSON plus ``access_code``."""
        overrides.setdefault("lodged_at", None)
        overrides.setdefault("contested_decision__notified_on", None)
        overrides.setdefault("contested_decision__decision_date", _recent_date())
        lodged = self.lodge(**overrides)
        for role, action in PATH[state]:
            self.act(lodged["reference"], role, action)
        result = self.get(lodged["reference"])
        result["access_code"] = lodged["access_code"]
        assert result["state"] == state
        return result

    def tribunal(self, code: str, country: str, languages: tuple[str, ...] = ("fr",)) -> str:
        """Add a tribunal to the reference data (an installation starts with ``CBSST`` only)."""
        with self.app.app_context(), writing():
            db.session.add(Tribunal(code=code, name=f"Tribunal {code}", country=country, languages=list(languages)))
            db.session.commit()
        return code

    def upload(self, reference: str, content: bytes = PDF, name: str = "evidence.pdf", headers: dict | None = None,
               expect: int = 201) -> dict:
        """Add a document through the API, by default as an officer of the handling country (DE)."""
        response = self.client.post(
            f"/api/v1/appeals/{reference}/documents",
            data={"file": (io.BytesIO(content), name)},
            headers=headers if headers is not None else self.staff("officer", "DE").headers,
            content_type="multipart/form-data",
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()


def _recent_date() -> str:
    from datetime import timedelta

    from casework.clock import now

    return (now().date() - timedelta(days=3)).isoformat()
