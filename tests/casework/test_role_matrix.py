"""Every endpoint × every kind of caller answers with the status DESIGN §6, API.md and the
blueprints promise, and nobody reads an appeal that is not theirs to see.

The appeals (``SUBJECTS``) are handled by Germany (DE) and involve Poland (PL); France (FR) has
nothing to do with them. One is under review, one is in mediation with no mediator yet, one in
mediation assigned to a DE mediator, one before the CBSST tribunal. The callers (``CALLERS``)
are an officer of each of DE, PL and FR, the assigned DE mediator and another DE mediator, the
CBSST clerk and the clerk of another tribunal, oversight, an administrator, the claimant of the
appeal under review with their access code, someone with the access code of another appeal,
and someone with no credentials at all.

API (API.md "Errors"): 200/201, 401 without (valid) credentials, 403 when the role may not do
this, 404 when the appeal is not visible to the caller. Pages: 200, a redirect to the sign-in
page for someone not signed in, 403 pages for another role's lists, 404 pages for appeals not
visible, a redirect after a form (303). The claimant's pages send everyone who has not opened
the appeal with its code to the page that asks for it.

``MATRIX`` names every endpoint (and method) of ``app.url_map``: a new endpoint fails
``test_every_endpoint_is_in_the_matrix`` until someone says here who may call it. The requests
run in loops inside a few test functions, on one set of appeals built per function (building
them per cell would cost minutes), and each function reports every cell that differs at once.
Whatever may happen only once (a mediator's extension, a claimant's withdrawal) is tried on an
appeal of its own; every refused request that could write is checked to have written nothing.
No answer to anyone shows the reference or the claimant's name of an appeal they may not see
(``leaks``), and the officer of the unrelated country and the clerk of the tribunal not seized
of the appeals are checked for it by name (``outsiders_see_nothing``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import func, select
from werkzeug.security import generate_password_hash

from casework.access import issue_api_token, new_staff
from casework.clock import now
from casework.db import db, writing
from casework.models import ApiToken, Appeal, Calculation, Document, Event, InsurancePeriod, User
from tests.factories import PDF, STAFF_PASSWORD, Factory, Staff, lodge_body

HTML = {"Accept": "text/html"}

# --- who -----------------------------------------------------------------------------------------

STAFF = {  # caller -> (role, country, tribunal)
    "officer_handling": ("officer", "DE", None),
    "officer_involved": ("officer", "PL", None),
    "officer_unrelated": ("officer", "FR", None),
    "mediator_assigned": ("mediator", "DE", None),
    "mediator_unassigned": ("mediator", "DE", None),
    "tribunal_seized": ("tribunal", None, "CBSST"),
    "tribunal_not_seized": ("tribunal", None, "OTHER"),
    "oversight": ("oversight", None, None),
    "admin": ("admin", None, None),
}
CALLERS = (*STAFF, "claimant", "claimant_wrong_code", "anonymous")

# --- what --------------------------------------------------------------------------------------

SUBJECTS = ("review", "pool", "assigned", "tribunal")
NAMES = {  # each claimant's name: no response to someone who may not see the appeal contains it
    "review": "Wiktoria Matrix-Review", "pool": "Wiktoria Matrix-Pool", "assigned": "Wiktoria Matrix-Assigned",
    "tribunal": "Wiktoria Matrix-Tribunal",
}
ALL = set(SUBJECTS)
SEES = {
    "officer_handling": ALL, "officer_involved": ALL,
    "mediator_assigned": {"pool", "assigned"}, "mediator_unassigned": {"pool"},
    "tribunal_seized": {"tribunal"},
    "claimant": {"review"},  # through the claimant's own endpoints only
}
ACTS = {
    "officer_handling": ALL,
    "mediator_assigned": {"pool", "assigned"}, "mediator_unassigned": {"pool"},
    "tribunal_seized": {"tribunal"},
}
CASE_FILE = {"officer_handling": ALL, "tribunal_seized": {"tribunal"}}
HOME = {"officer": "/queue/", "mediator": "/mediations/", "tribunal": "/referrals/", "oversight": "/", "admin": "/"}

# --- expected answers: a status, or a redirect (status, where to) ----------------------------------

Expected = int | tuple[int, str]
SIGN_IN = (302, "/sign-in")
TO_TRACK = (303, "/track?reference={ref}")  # the claimant's pages, to someone who has not opened the appeal


def allowed(expected: Expected) -> bool:
    """Whether the answer is the caller being let through (not refused, not sent elsewhere)."""
    return expected not in (SIGN_IN, TO_TRACK) and (expected[0] if isinstance(expected, tuple) else expected) < 400


def public(caller: str, subject: str | None) -> Expected:
    return 200


def api_read(caller, subject):
    if caller not in STAFF:
        return 401
    return 200 if subject in SEES.get(caller, ()) else 404


def acts(caller, subject) -> bool:
    """Whether the caller may act on the subject at all (the workflow then says which action)."""
    return subject in ACTS.get(caller, ())


def handles(caller, subject) -> bool:
    """Entering periods and running calculations: the handling institution's officers only."""
    return caller == "officer_handling"


def api_act(success: int, may=acts):
    def expect(caller, subject):
        status = api_read(caller, subject)
        if status != 200:
            return status
        return success if may(caller, subject) else 403
    return expect


def api_case_file(caller, subject):
    if caller not in STAFF:
        return 401
    return 200 if subject in CASE_FILE.get(caller, ()) else 404


def api_roles(*roles: str, success: int = 200):
    def expect(caller, subject):
        if caller not in STAFF:
            return 401
        return success if STAFF[caller][0] in roles else 403
    return expect


def api_claimant(success: int):
    def expect(caller, subject):
        return {"claimant": success, "claimant_wrong_code": 404}.get(caller, 401)
    return expect


def page_read(caller, subject):
    if caller not in STAFF:
        return SIGN_IN
    return 200 if subject in SEES.get(caller, ()) else 404


def page_act(where: str, may=acts):
    def expect(caller, subject):
        status = page_read(caller, subject)
        if status != 200:
            return status
        return (303, where) if may(caller, subject) else 403
    return expect


def page_case_file(caller, subject):
    if caller not in STAFF:
        return SIGN_IN
    return 200 if subject in CASE_FILE.get(caller, ()) else 404


def page_roles(*roles: str, success: Expected = 200):
    def expect(caller, subject):
        if caller not in STAFF:
            return SIGN_IN
        return success if STAFF[caller][0] in roles else 403
    return expect


def signed_in(success: Expected):
    return lambda caller, subject: success if caller in STAFF else SIGN_IN


def work(caller, subject):
    return (302, HOME[STAFF[caller][0]]) if caller in STAFF else SIGN_IN


def claimant_page(success: Expected):
    def expect(caller, subject):
        return success if caller == "claimant" else TO_TRACK
    return expect


def track_form(caller, subject):
    return {"claimant": (303, "/track/{ref}"), "claimant_wrong_code": 404}.get(caller, 422)


@dataclass(frozen=True)
class Endpoint:
    url: str  # {ref}: the appeal's reference, {doc}: its document, {action}: the caller's probe action
    expect: Callable[[str, str | None], Expected]
    subjects: tuple = (None,)
    send: str = ""  # what the request carries, see ``payload``
    writes: bool = False  # a refusal must leave the appeal as it was, a success must change it
    once: Callable[[str], bool] = field(default=lambda caller: False)  # success needs an appeal of its own


CASE_FILE_SUBJECTS = ("assigned", "tribunal")  # seen by a mediator without the case file; the tribunal's


def by_a_mediator(caller: str) -> bool:
    """A mediation is extended once."""
    return caller.startswith("mediator")


def by_the_claimant(caller: str) -> bool:
    """An appeal is withdrawn once."""
    return caller == "claimant"


def by_the_handling_officer(caller: str) -> bool:
    """A proposed period is confirmed once."""
    return caller == "officer_handling"

# (endpoint, method) -> who gets what. The claimant's forgetting and signing out come last: they
# end what the callers' browsers opened.
MATRIX: dict[tuple[str, str], Endpoint] = {
    # The staff API.
    ("api.lodge", "POST"): Endpoint("/api/v1/appeals", api_roles("officer", success=201), send="lodge"),
    ("api.list_appeals", "GET"): Endpoint("/api/v1/appeals?limit=200", api_roles(*{r for r, _c, _t in STAFF.values()})),
    ("api.show", "GET"): Endpoint("/api/v1/appeals/{ref}", api_read, SUBJECTS),
    ("api.events", "GET"): Endpoint("/api/v1/appeals/{ref}/events", api_read, SUBJECTS),
    ("api.notices", "GET"): Endpoint("/api/v1/appeals/{ref}/notices", api_read, SUBJECTS),
    ("api.act", "POST"): Endpoint("/api/v1/appeals/{ref}/actions", api_act(200), SUBJECTS, "action", True,
                                  by_a_mediator),
    ("api_documents.upload", "POST"): Endpoint("/api/v1/appeals/{ref}/documents", api_act(201), SUBJECTS, "file", True),
    ("api_documents.download", "GET"): Endpoint("/api/v1/appeals/{ref}/documents/{doc}", api_case_file,
                                                CASE_FILE_SUBJECTS),
    ("api.bundle", "GET"): Endpoint("/api/v1/appeals/{ref}/bundle", api_case_file, CASE_FILE_SUBJECTS),
    ("api.bundle_zip", "GET"): Endpoint("/api/v1/appeals/{ref}/bundle.zip", api_case_file, CASE_FILE_SUBJECTS),
    ("api.referrals", "GET"): Endpoint("/api/v1/tribunal/referrals", api_roles("tribunal")),
    ("api.periods", "GET"): Endpoint("/api/v1/appeals/{ref}/periods", api_read, SUBJECTS),
    ("api.enter_period", "POST"): Endpoint("/api/v1/appeals/{ref}/periods", api_act(201, handles), SUBJECTS, "period", True),
    ("api.decide_period", "POST"): Endpoint("/api/v1/appeals/{ref}/periods/{period}/decision", api_act(200, handles),
                                            SUBJECTS, "period_decision", True, by_the_handling_officer),
    ("api.calculations", "GET"): Endpoint("/api/v1/appeals/{ref}/calculations", api_read, SUBJECTS),
    ("api.run_calculation", "POST"): Endpoint("/api/v1/appeals/{ref}/calculations", api_act(201, handles), SUBJECTS,
                                              "calculation", True),
    ("api.calculation", "GET"): Endpoint("/api/v1/appeals/{ref}/calculations/1", api_read, SUBJECTS),
    # The claimant's API.
    ("api.status", "GET"): Endpoint("/api/v1/status/{ref}", api_claimant(200), ("review",)),
    ("api.claimant_act", "POST"): Endpoint("/api/v1/status/{ref}/actions", api_claimant(200), ("review",),
                                          "claimant_action", True, by_the_claimant),
    ("api_documents.claimant_upload", "POST"): Endpoint("/api/v1/status/{ref}/documents", api_claimant(201),
                                                       ("review",), "file", True),
    ("api.claimant_periods", "GET"): Endpoint("/api/v1/status/{ref}/periods", api_claimant(200), ("review",)),
    ("api.propose_period", "POST"): Endpoint("/api/v1/status/{ref}/periods", api_claimant(201), ("review",), "period",
                                             True),
    ("api.claimant_calculation", "GET"): Endpoint("/api/v1/status/{ref}/calculation", api_claimant(200), ("review",)),
    # Published to everyone.
    ("api_published.keys", "GET"): Endpoint("/api/v1/keys", public),
    ("api_metrics.report", "GET"): Endpoint("/api/v1/metrics", public),
    ("api_metrics.report_csv", "GET"): Endpoint("/api/v1/metrics.csv", public),
    ("api_metrics.breakdown", "GET"): Endpoint("/api/v1/metrics/breakdown?by=benefit", public),
    ("api_metrics.breakdown_csv", "GET"): Endpoint("/api/v1/metrics/breakdown.csv?by=benefit", public),
    ("openapi", "GET"): Endpoint("/api/v1/openapi.json", public),
    ("openapi_apidoc", "GET"): Endpoint("/apidoc/openapi.json", public),
    ("healthz", "GET"): Endpoint("/healthz", public),
    ("static", "GET"): Endpoint("/static/casework.css", public),
    ("pages.home", "GET"): Endpoint("/", public),
    ("metrics.page", "GET"): Endpoint("/metrics", public),
    ("auth.sign_in", "GET"): Endpoint("/sign-in", public),
    ("auth.sign_in", "POST"): Endpoint("/sign-in", lambda caller, subject: 422, send="form"),  # an empty form
    ("claimant.lodge", "GET"): Endpoint("/lodge", public),
    ("claimant.lodge", "POST"): Endpoint("/lodge", lambda caller, subject: 422, send="form"),
    ("claimant.track", "GET"): Endpoint("/track", public),
    # Staff pages.
    ("pages.work", "GET"): Endpoint("/work", work),
    ("officer.work_queue", "GET"): Endpoint("/queue/", signed_in(200)),  # every role's own queue, maybe empty
    ("mediator.mediations", "GET"): Endpoint("/mediations/", page_roles("mediator")),
    ("tribunal.inbox", "GET"): Endpoint("/referrals/", page_roles("tribunal")),
    ("cases.case", "GET"): Endpoint("/appeals/{ref}", page_read, SUBJECTS),
    ("cases.act", "POST"): Endpoint("/appeals/{ref}/actions/{action}", page_act("/appeals/{ref}"), SUBJECTS,
                                    "action_form", True, by_a_mediator),
    ("cases.upload", "POST"): Endpoint("/appeals/{ref}/documents", page_act("/appeals/{ref}#documents"), SUBJECTS,
                                       "file", True),
    ("cases.download", "GET"): Endpoint("/appeals/{ref}/documents/{doc}", page_case_file, CASE_FILE_SUBJECTS),
    ("entitlement.enter_period", "POST"): Endpoint("/appeals/{ref}/periods", page_act("/appeals/{ref}#periods", handles),
                                                   SUBJECTS, "period_form", True),
    ("entitlement.decide_period", "POST"): Endpoint("/appeals/{ref}/periods/{period}/decision",
                                                    page_act("/appeals/{ref}#periods", handles), SUBJECTS, "decision_form",
                                                    True, by_the_handling_officer),
    ("entitlement.calculation_form", "GET"): Endpoint("/appeals/{ref}/calculation", page_read, SUBJECTS),
    ("entitlement.run_calculation", "POST"): Endpoint("/appeals/{ref}/calculations",
                                                      page_act("/appeals/{ref}/calculations/2", handles), SUBJECTS,
                                                      "calculation_form", True),
    ("entitlement.calculation", "GET"): Endpoint("/appeals/{ref}/calculations/1", page_read, SUBJECTS),
    ("case_files.bundle_json", "GET"): Endpoint("/appeals/{ref}/bundle.json", page_case_file, CASE_FILE_SUBJECTS),
    ("case_files.bundle_zip", "GET"): Endpoint("/appeals/{ref}/bundle.zip", page_case_file, CASE_FILE_SUBJECTS),
    ("admin.access", "GET"): Endpoint("/admin/access", page_roles("admin")),
    ("admin.revoke_token", "POST"): Endpoint("/admin/access/tokens/{token}/revoke",
                                             page_roles("admin", success=(303, "/admin/access"))),
    ("admin.deactivate_user", "POST"): Endpoint("/admin/access/users/{user}/deactivate",
                                                page_roles("admin", success=(303, "/admin/access"))),
    ("admin.activate_user", "POST"): Endpoint("/admin/access/users/{user}/activate",
                                              page_roles("admin", success=(303, "/admin/access"))),
    # The claimant's pages.
    ("claimant.track", "POST"): Endpoint("/track", track_form, ("review",), "track"),
    ("claimant.status", "GET"): Endpoint("/track/{ref}", claimant_page(200), ("review",)),
    ("claimant.confirm", "GET"): Endpoint("/track/{ref}/confirm/withdraw", claimant_page(200), ("review",)),
    ("claimant.act", "POST"): Endpoint("/track/{ref}/actions/withdraw", claimant_page((303, "/track/{ref}")),
                                       ("review",), "version_form", True, by_the_claimant),
    ("claimant.upload", "POST"): Endpoint("/track/{ref}/documents", claimant_page((303, "/track/{ref}#documents")),
                                          ("review",), "file", True),
    ("claimant.propose_period", "POST"): Endpoint("/track/{ref}/periods", claimant_page((303, "/track/{ref}#periods")),
                                                  ("review",), "period_form", True),
    ("claimant.leave", "POST"): Endpoint("/track/{ref}/leave", lambda caller, subject: (303, "/track"), ("review",)),
    ("auth.sign_out", "POST"): Endpoint("/sign-out", signed_in((303, "/"))),
}

# --- the world each test function builds ------------------------------------------------------------


@dataclass
class Subject:
    reference: str
    access_code: str
    document: int
    name: str
    period: int  # a period the claimant proposed, for an officer to decide on


PERIOD = {"country": "DE", "starts_on": "1980-01-01", "ends_on": "1989-12-31", "kind": "employment"}
AMOUNTS = {"DE": {"theoretical": "1000.00", "independent": "900.00"}}
# By the time a calculation is run in the matrix, the officer has also entered a period in France.
AMOUNTS_WITH_FR = {**AMOUNTS, "FR": {"theoretical": "800.00", "independent": "100.00"}}


class World:
    """The callers (tokens, signed-in browsers) and the appeals, built through the real API."""

    def __init__(self, app, factory: Factory):
        self.app, self.factory = app, factory
        self.api = app.test_client()  # no cookies: the API authenticates every request itself
        factory.tribunal("OTHER", "BE")
        self.staff: dict[str, Staff] = {}
        for caller, (role, country, tribunal) in STAFF.items():
            if caller == "mediator_unassigned":
                self.staff[caller] = self._another("mediator.de.unassigned@example.org", role, country)
            else:
                self.staff[caller] = factory.staff(role, country, tribunal)
        self.bystander = self._another("bystander@example.org", "officer", "ES")  # the admin's forms act on them
        with app.app_context(), writing():
            password = generate_password_hash(STAFF_PASSWORD)
            for staff in self.staff.values():
                db.session.get(User, staff.user_id).password_hash = password
            db.session.commit()
            self.bystander_token_id = db.session.exec(
                select(ApiToken.id).where(ApiToken.user_id == self.bystander.user_id)).one()
        self.subjects = {name: self.subject(name) for name in SUBJECTS}
        self.other = factory.appeal("lodged", claimant__name="Someone Else Entirely")  # its code is the wrong one
        self.browsers = {caller: self._browser(caller) for caller in CALLERS}

    def _another(self, email: str, role: str, country: str) -> Staff:
        """A second user of a role and country (the factory keeps one per role and country)."""
        with self.app.app_context(), writing():
            user = new_staff(db.session, email, role, None, country)
            token = issue_api_token(db.session, user)
            db.session.commit()
            return Staff(user.id, email, role, country, token)

    def subject(self, name: str) -> Subject:
        """A fresh appeal of that kind (also for what can happen only once)."""
        state = {"review": "under_review", "pool": "in_mediation", "assigned": "in_mediation",
                 "tribunal": "before_tribunal"}[name]
        appeal = self.factory.appeal(state, claimant__name=NAMES[name])
        if name == "assigned":
            self.factory.act(appeal["reference"], "officer", {"action": "assign",
                                                              "user": self.staff["mediator_assigned"].email})
        document = self.factory.upload(appeal["reference"])["id"]
        reference, officer = appeal["reference"], self.staff["officer_handling"].headers
        assert self.api.post(f"/api/v1/appeals/{reference}/periods", json=PERIOD, headers=officer).status_code == 201
        proposed = self.api.post(f"/api/v1/status/{reference}/periods", headers={"X-Access-Code": appeal["access_code"]},
                                 json={**PERIOD, "country": "PL", "starts_on": "1990-01-01", "ends_on": "1990-12-31"})
        assert self.api.post(f"/api/v1/appeals/{reference}/calculations", json={"amounts": AMOUNTS},
                             headers=officer).status_code == 201
        return Subject(reference, appeal["access_code"], document, NAMES[name], proposed.get_json()["id"])

    def _browser(self, caller: str):
        browser = self.app.test_client()
        if caller in STAFF:
            response = browser.post("/sign-in", data={"email": self.staff[caller].email, "password": STAFF_PASSWORD})
            assert response.status_code == 303, caller
        elif caller == "claimant":
            self.open(browser, self.subjects["review"])
        elif caller == "claimant_wrong_code":
            response = browser.post("/track", data={"reference": self.subjects["review"].reference,
                                                    "access_code": self.other["access_code"]}, headers=HTML)
            assert response.status_code == 404
        return browser

    def open(self, browser, subject: Subject) -> None:
        response = browser.post("/track", data={"reference": subject.reference, "access_code": subject.access_code})
        assert response.status_code == 303

    def api_headers(self, caller: str, subject: Subject | None) -> dict:
        if caller in STAFF:
            return self.staff[caller].headers
        if caller == "claimant":
            return {"X-Access-Code": (subject or self.subjects["review"]).access_code}
        if caller == "claimant_wrong_code":
            return {"X-Access-Code": self.other["access_code"]}
        return {}

    def stored(self, subject: Subject) -> tuple:
        """What a request could change: version, state, events, documents, periods, calculations."""
        with self.app.app_context():
            appeal = db.session.exec(select(Appeal).where(Appeal.reference == subject.reference)).unique().one()
            events = db.session.exec(select(func.count()).select_from(Event).where(Event.appeal_id == appeal.id)).one()
            documents = db.session.exec(
                select(func.count()).select_from(Document).where(Document.appeal_id == appeal.id)).one()
            periods = sorted(db.session.exec(select(InsurancePeriod.id, InsurancePeriod.status)
                                             .where(InsurancePeriod.appeal_id == appeal.id)).all())
            calculations = db.session.exec(
                select(func.count()).select_from(Calculation).where(Calculation.appeal_id == appeal.id)).one()
            return appeal.version, appeal.state, events, documents, tuple(periods), calculations


def probe(world: World, caller: str) -> dict:
    """An action each caller's role could take (officers: assign, mediators: extend, tribunals:
    schedule a hearing); whether the appeal lets them is what the matrix is about."""
    role = STAFF.get(caller, ("officer",))[0]
    if role == "mediator":
        return {"action": "extend_mediation", "reason": "The parties are close to an agreement."}
    if role == "tribunal":
        return {"action": "schedule_hearing", "mode": "video",
                "hearing_at": (now() + timedelta(days=30)).replace(microsecond=0).isoformat()}
    return {"action": "assign", "user": world.staff["officer_handling"].email}


def payload(world: World, endpoint: Endpoint, caller: str, subject: Subject | None) -> dict:
    """The body of the request, as the caller's client would send it."""
    if endpoint.send == "lodge":
        country = STAFF.get(caller, (None, "DE"))[1] or "DE"
        return {"json": lodge_body(lodged_with_country=country, claimant__name="Lodged In The Matrix")}
    if endpoint.send == "file":
        return {"data": {"file": (io.BytesIO(PDF), "evidence.pdf")}, "content_type": "multipart/form-data"}
    if endpoint.send in ("action", "action_form"):
        action = probe(world, caller)
        body = {"version": world.stored(subject)[0], **action}
        if endpoint.send == "action":
            return {"json": body}
        if action["action"] == "schedule_hearing":
            body["hearing_at"] = body["hearing_at"][:16]  # the form's local time, no offset
        return {"data": body}
    if endpoint.send in ("period", "period_form"):
        body = {**PERIOD, "country": "FR"}
        return {"json": body} if endpoint.send == "period" else {"data": body}
    if endpoint.send in ("period_decision", "decision_form"):
        return {"json": {"decision": "confirm"}} if endpoint.send == "period_decision" else {"data": {"decision": "confirm"}}
    if endpoint.send == "calculation":
        return {"json": {"amounts": AMOUNTS_WITH_FR}}
    if endpoint.send == "calculation_form":
        return {"data": {f"amounts-{country}-{which}": value for country, given in AMOUNTS_WITH_FR.items()
                         for which, value in given.items()}}
    if endpoint.send == "claimant_action":
        return {"json": {"action": "withdraw"}}
    if endpoint.send == "version_form":
        return {"data": {"version": world.stored(subject)[0]}}
    if endpoint.send == "track":
        code = {"claimant": subject.access_code, "claimant_wrong_code": world.other["access_code"]}.get(caller)
        return {"data": {"reference": subject.reference, **({"access_code": code} if code else {})}}
    if endpoint.send == "form":
        return {"data": {}}
    return {}


def is_api(url: str) -> bool:
    return url.startswith(("/api/", "/apidoc/")) or url == "/healthz"


@dataclass
class Call:
    key: tuple[str, str]
    caller: str
    subject: str | None
    expected: Expected
    status: int
    location: str
    body: bytes
    sent: tuple[str, ...]  # the address asked for, and a reference typed into a form

    @property
    def shown(self) -> bytes:
        """The body, less what the caller sent where it repeats it (the links to the same page in
        another language, a form shown again): that tells them nothing they did not know."""
        body = self.body
        for text in self.sent:
            body = body.replace(text.encode(), b"")
        return body

    def __str__(self) -> str:
        got = f"{self.status} {self.location}".strip()
        return (f"{self.key[1]} {self.key[0]} [{self.subject or '-'}] as {self.caller}: "
                f"expected {self.expected}, got {got}")


def run(world: World, keys: list[tuple[str, str]]) -> tuple[list[Call], list[str]]:
    """Every caller against the endpoints ``keys``: the calls made, and what went wrong."""
    calls, wrong = [], []
    for key in keys:
        endpoint = MATRIX[key]
        for subject_name in endpoint.subjects:
            for caller in CALLERS:
                expected = endpoint.expect(caller, subject_name)
                status = expected[0] if isinstance(expected, tuple) else expected
                subject = world.subjects.get(subject_name)
                browser = None if is_api(endpoint.url) else world.browsers[caller]
                if endpoint.writes and allowed(expected) and endpoint.once(caller):
                    subject = world.subject(subject_name)  # it can happen once: an appeal of its own
                    if browser is not None and caller == "claimant":
                        world.open(browser, subject)
                url = endpoint.url.format(
                    ref=subject.reference if subject else "", doc=subject.document if subject else "",
                    action=probe(world, caller)["action"], token=world.bystander_token_id,
                    period=subject.period if subject else "",
                    user=world.bystander.user_id)
                before = world.stored(subject) if endpoint.writes else None
                if browser is None:
                    response = world.api.open(url, method=key[1], headers=world.api_headers(caller, subject),
                                              **payload(world, endpoint, caller, subject))
                else:
                    response = browser.open(url, method=key[1], headers=HTML,
                                            **payload(world, endpoint, caller, subject))
                call = Call(key, caller, subject_name, expected, response.status_code,
                            response.headers.get("Location", ""), response.get_data(),
                            (url.split("?")[0], *([subject.reference] if endpoint.send == "track" else [])))
                calls.append(call)
                if not answered_as_expected(call, subject):
                    wrong.append(str(call))
                elif endpoint.writes:
                    changed = world.stored(subject) != before
                    if changed != allowed(expected):
                        wrong.append(f"{call}: the appeal {'changed' if changed else 'did not change'}")
                if browser is None and status in (401, 403, 404):
                    code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[status]
                    if (response.get_json() or {}).get("error", {}).get("code") != code:
                        wrong.append(f"{call}: not the API's {status} error body")
    return calls, wrong


def answered_as_expected(call: Call, subject: Subject | None) -> bool:
    status, where = call.expected if isinstance(call.expected, tuple) else (call.expected, None)
    if call.status != status:
        return False
    if where is None:
        return True
    where = where.format(ref=subject.reference if subject else "")
    return call.location == where or call.location.startswith(where + "?")


def leaks(world: World, calls: list[Call]) -> list[str]:
    """Responses that show a caller an appeal they may not see: its reference or claimant's name.
    A redirect may repeat the address the caller asked for (``?next=``, ``?reference=``), so only
    the names are looked for there."""
    found = []
    for call in calls:
        visible = SEES.get(call.caller, set())
        for name, subject in world.subjects.items():
            if name in visible:
                continue
            secrets = [subject.name] + ([] if 300 <= call.status < 400 else [subject.reference])
            for secret in secrets:
                if secret.encode() in call.shown:
                    found.append(f"{call}: shows {secret!r}")
    return found


def _keys(api: bool) -> list[tuple[str, str]]:
    return [key for key, endpoint in MATRIX.items() if is_api(endpoint.url) == api]


# --- the tests ---------------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_matrix(app):
    served = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    missing = sorted(served - set(MATRIX))
    assert not missing, f"endpoints nobody has said who may call: add them to MATRIX: {missing}"
    gone = sorted(set(MATRIX) - served)
    assert not gone, f"MATRIX names endpoints that no longer exist: {gone}"


def outsiders_see_nothing(world: World, calls: list[Call]) -> None:
    """The FR officer and the other tribunal's clerk: not one reference or claimant's name of the
    DE appeals in any answer (lists, pages, refusals), while the DE officer's answers are full of
    them (so the search would find them)."""
    for caller in ("officer_unrelated", "tribunal_not_seized"):
        for subject in world.subjects.values():
            for secret in (subject.reference, subject.name):
                shown = [str(call) for call in calls if call.caller == caller and secret.encode() in call.shown
                         and not (300 <= call.status < 400 and secret == subject.reference)]
                assert not shown, f"{caller} was shown {secret!r}:\n" + "\n".join(shown)
    handling = b"".join(call.body for call in calls if call.caller == "officer_handling")
    for subject in world.subjects.values():
        assert subject.reference.encode() in handling and subject.name.encode() in handling


def test_the_api(app, factory):
    world = World(app, factory)
    calls, wrong = run(world, _keys(api=True))
    assert not wrong, f"{len(wrong)} of {len(calls)} calls:\n" + "\n".join(wrong)
    outsiders_see_nothing(world, calls)
    assert not leaks(world, calls), "\n".join(leaks(world, calls))


def test_the_pages(app, factory):
    world = World(app, factory)
    calls, wrong = run(world, _keys(api=False))
    assert not wrong, f"{len(wrong)} of {len(calls)} calls:\n" + "\n".join(wrong)
    outsiders_see_nothing(world, calls)
    assert not leaks(world, calls), "\n".join(leaks(world, calls))
