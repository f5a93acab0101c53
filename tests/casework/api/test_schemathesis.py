"""Schemathesis against ``/api/v1/openapi.json``: for every operation the document lists, calls
generated from the document (valid and invalid input), made with a valid credential, an invalid
one and none, get no 5xx and no answer the document does not promise (status code, media type,
body shape).

The app is called in-process through its WSGI interface (``schemathesis.openapi.from_wsgi``):
the whole Flask app runs as behind gunicorn (before-request checks, rate limits, spectree's
validation, error handlers), without a server thread or a port competing with the benchmarks
on this 2-core machine, and an exception in the app fails the test with its own traceback. What
WSGI leaves out, parsing raw bytes off a socket, is werkzeug's and gunicorn's, not this
document's.

The data: appeals in several states (lodged, under review, awaiting the claimant, in mediation,
before the tribunal, closed; one with a document), made through the API by ``tests.factories``,
and a staff user of each role with a token. Generated references are mostly nonsense, so most
calls are pointed at a real appeal (with its current version in an action's body, its access
code on the claimant's operations, a real PDF in an upload): those reach the 200 answers and
check their bodies too.

Bounded for CI: ``EXAMPLES`` calls per operation and credential, derandomized (the same calls
on every run), no deadline (the machine is shared). Not stateful: the document has no links
between operations to follow, and the real appeals already stand in every state.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from casework import create_app
from casework.access import find_appeal
from casework.clock import now
from tests.conftest import DATABASES, PG_URL, _reset_postgres
from tests.factories import JPEG, PDF, PNG, Factory, lodge_body

EXAMPLES = int(os.environ.get("CASEWORK_SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STATES = ["lodged", "under_review", "awaiting_claimant", "in_mediation", "before_tribunal", "closed"]
# Staff with tokens. Half of the "valid token" calls carry the token of the role the operation is
# for (a tribunal clerk for the referrals, else an officer of the handling country, DE); the
# rest any role's (an officer of an involved country, a mediator, oversight, an admin...), for
# the 403s and 404s of the wrong role.
ROLES = [("officer", "DE"), ("officer", "PL"), ("mediator", "DE"), ("tribunal", None), ("oversight", None),
         ("admin", None)]
CREDENTIALS = ["valid_credential", "invalid_credential", "no_credential"]
INVALID_TOKEN = "cw_not-a-token-this-installation-issued"
WRONG_CODE = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"


@dataclass
class World:
    """The app under test and what a caller can know about it."""

    app: object
    schema: object
    tokens: dict[tuple, str]  # (role, country) -> token
    officer: str  # e-mail of the officer of the handling country
    appeals: dict[str, str]  # reference -> access code
    document: tuple[str, int]  # (reference, id) of an uploaded document

    def version(self, reference: str) -> int | None:
        with self.app.app_context():
            appeal = find_appeal(reference)
            return appeal.version if appeal is not None else None

    def intact(self) -> bool:
        """Whether the appeals are still there (no other test emptied the database meanwhile,
        which would turn every later call into a quiet 401 or 404)."""
        return all(self.version(reference) is not None for reference in self.appeals)


def _config(url: str, root) -> dict:
    return {"TESTING": True, "SECRET_KEY": "schemathesis-secret-key", "DATABASE_URL": url,
            "INSTANCE_PATH": str(root / "instance"), "WTF_CSRF_ENABLED": False, "API_TOKEN_DAYS": None}


@pytest.fixture(scope="module", params=DATABASES)
def world(request, tmp_path_factory, sqlite_template):
    """One app and data set per database for the whole module: building the appeals through the
    API takes seconds, and the generated calls only add to them (an action that goes through
    moves an appeal on, to another state that is as good to test against)."""
    root = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    if request.param == "postgresql":
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        shutil.copy(sqlite_template, root / "casework.db")
        url = f"sqlite:///{root / 'casework.db'}"
    app = create_app(_config(url, root))
    factory = Factory(app, app.test_client())
    appeals = [factory.appeal(state) for state in STATES]
    before_tribunal = appeals[STATES.index("before_tribunal")]["reference"]
    document = factory.upload(before_tribunal)
    tokens = {(role, country): factory.staff(role, country).token for role, country in ROLES}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    yield World(app, schema, tokens, factory.staff("officer", "DE").email,
                {a["reference"]: a["access_code"] for a in appeals}, (before_tribunal, document["id"]))
    app.extensions["casework.db"].dispose()


def _document() -> dict:
    """The OpenAPI document; it does not depend on the data, so an empty database will do."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(_config(f"sqlite:///{folder}/casework.db", Path(folder)))
        document = app.test_client().get("/api/v1/openapi.json").get_json()
        app.extensions["casework.db"].dispose()
    return document


DOCUMENT = _document()
OPERATIONS = [(method.upper(), path) for path, methods in DOCUMENT["paths"].items() for method in methods]


def _claimants(path: str) -> bool:
    return path.startswith("/api/v1/status/")


def _valid_lodging() -> dict:
    """The factory's lodging body with dates that are in the past whenever the test runs."""
    decided = (now().date() - timedelta(days=3)).isoformat()
    return lodge_body(lodged_at=None, contested_decision__notified_on=None,
                      contested_decision__decision_date=decided)


@st.composite
def calls(draw, world: World, operation, credential: str):
    """A generated call (valid or invalid input), three times in four aimed at a real appeal
    (with its current version half the time, and then half the time an action that goes
    through), with the credential asked for."""
    mode = draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = draw(operation.as_strategy(generation_mode=mode))
    real = None
    if "reference" in (case.path_parameters or {}) and draw(st.integers(0, 3)) > 0:
        if "document_id" in case.path_parameters:
            real, case.path_parameters["document_id"] = world.document
        else:
            real = draw(st.sampled_from(sorted(world.appeals)))
        case.path_parameters["reference"] = real
        if isinstance(case.body, dict) and "version" in case.body and draw(st.booleans()):
            case.body["version"] = world.version(real)
            if operation.path.endswith("/actions") and not _claimants(operation.path) and draw(st.booleans()):
                # an action that goes through in every state but closed
                case.body = {"action": "assign", "user": world.officer, "version": case.body["version"]}
        if isinstance(case.body, dict) and "file" in case.body and draw(st.booleans()):
            case.body["file"] = draw(st.sampled_from([PDF, PNG, JPEG]))
    if (operation.method.upper(), operation.path) == ("POST", "/api/v1/appeals") and draw(st.integers(0, 3)) == 0:
        case.body = _valid_lodging()
    headers = dict(case.headers or {})
    for name in list(headers):  # schemathesis fills the security schemes' headers itself
        if name.lower() in ("authorization", "x-access-code"):
            del headers[name]
    if credential != "no_credential":
        if _claimants(operation.path):
            right = credential == "valid_credential" and real is not None and draw(st.integers(0, 3)) > 0
            headers["X-Access-Code"] = world.appeals[real] if right else WRONG_CODE
        elif credential == "valid_credential":
            meant = ("tribunal", None) if operation.path.startswith("/api/v1/tribunal/") else ("officer", "DE")
            token = world.tokens[meant] if draw(st.booleans()) else draw(st.sampled_from(sorted(world.tokens.values())))
            headers["Authorization"] = f"Bearer {token}"
        else:
            headers["Authorization"] = f"Bearer {INVALID_TOKEN}"
    case.headers = headers
    return case


@pytest.mark.slow
@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_keeps_its_documented_promises(world, method, path, credential):
    assert world.intact()
    operation = world.schema[path][method]
    # Each operation and credential starts with the rate limits' counts at zero: the wrong codes
    # of one test would otherwise lock the real appeals (per reference) for the next one's right
    # codes. Within a test, a limit reached is a 429, which the claimant's operations document.
    for limiter in world.app.extensions.get("limiter", ()):
        limiter.reset()

    @given(case=calls(world, operation, credential))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate(checks=CHECKS)

    call()


# --- the document says what the API does (regressions of what the run above found) ---------------

def _responses(method: str, path: str) -> dict:
    return DOCUMENT["paths"][path][method.lower()]["responses"]


def test_the_document_lists_only_the_json_api():
    """Spectree's default mode listed every Flask route, the HTML pages too (``/track``,
    ``/sign-in``), with no responses at all: an operation a client cannot call as documented."""
    assert all(path.startswith("/api/v1/") or path == "/healthz" for path in DOCUMENT["paths"])
    assert all(_responses(method, path) for method, path in OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_document_lists_the_errors_the_contract_allows(method, path):
    """API.md's errors, documented where they can happen: 401 behind credentials, 404 for a
    reference, 413/415/422 for a body (400 for JSON), 429 on the claimant's operations; each
    in the one error shape."""
    operation = DOCUMENT["paths"][path][method.lower()]
    expected = set()
    if operation.get("security"):
        expected.add("401")
    if "{reference}" in path:
        expected.add("404")
    content = operation.get("requestBody", {}).get("content", {})
    if content:
        expected |= {"413", "415", "422"}
    if "application/json" in content:
        expected.add("400")
    if _claimants(path):
        expected.add("429")
    responses = operation["responses"]
    assert expected <= set(responses), sorted(expected - set(responses))
    for status, response in responses.items():
        if status.startswith("4"):
            schema = response["content"]["application/json"]["schema"]["$ref"]
            assert schema.split("/")[-1].startswith("ErrorOut"), (status, schema)


@pytest.mark.parametrize("url", ["/api/v1/appeals/{ref}/documents", "/api/v1/status/{ref}/documents"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda: {"evidence": (io.BytesIO(PDF), "evidence.pdf")}, id="file_under_another_name"),
        pytest.param(lambda: b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
                             b'--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n', id="part_without_a_name"),
    ],
)
def test_an_upload_without_a_file_field_is_422_not_500(client, factory, url, body):
    """Found by schemathesis: spectree wrote its validation errors as JSON, quoting the input,
    before the API's own error replaced them; a file object or a ``None`` key (a part with no
    name) does not serialize, and the upload was a 500."""
    appeal = factory.appeal("under_review")
    target = url.format(ref=appeal["reference"])
    headers = (factory.staff("officer", "DE").headers if "/appeals/" in target
               else {"X-Access-Code": appeal["access_code"]})
    data = body()
    content_type = "multipart/form-data" + ("; boundary=B" if isinstance(data, bytes) else "")
    response = client.post(target, data=data, headers=headers, content_type=content_type)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [{"field": "file", "message": "is required"}]
