"""Documents through the API: uploads by the handling institution and by the claimant, refused
uploads that store nothing, and downloads only for those who receive the case file.

The appeal is handled by Germany (DE) and involves Poland (PL); France (FR) has nothing to do
with it. Who may upload is who may act on the appeal; who may download is who receives its case
file (the tribunal it is escalated to and the handling institution's officers).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlmodel import select

from casework.db import db
from casework.documents import MAX_SIZE
from casework.models import Document
from tests.factories import CASE_FILE_CALLERS, JPEG, PDF, PNG, Factory

UNKNOWN_REFERENCE = "CW-2099-999999"


def _stored_files(app) -> list[str]:
    root = Path(app.instance_path) / "documents"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _document_rows(app) -> list[Document]:
    with app.app_context():
        return list(db.session.exec(select(Document)))


def _post(client, reference, content, name, headers, **extra):
    return client.post(
        f"/api/v1/appeals/{reference}/documents",
        data={"file": (io.BytesIO(content), name)},
        headers=headers,
        content_type="multipart/form-data",
        **extra,
    )


def _assert_error(response, status, code):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


# --- accepted ------------------------------------------------------------------------------------

def test_the_handling_officer_adds_a_document(app, client, factory):
    appeal = factory.appeal("under_review")

    body = factory.upload(appeal["reference"], PDF, "Bescheid DRV.pdf")

    sha256 = hashlib.sha256(PDF).hexdigest()
    assert body == {"id": body["id"], "name": "Bescheid DRV.pdf", "sha256": sha256, "size": len(PDF),
                    "media_type": "application/pdf"}
    assert _stored_files(app) == [f"{sha256[:2]}/{sha256}"]
    (row,) = _document_rows(app)
    assert row.uploaded_by == factory.staff("officer", "DE").email
    assert factory.get(appeal["reference"])["documents"] == [body]


def test_the_claimant_adds_evidence_with_their_access_code(app, client, factory):
    appeal = factory.appeal("awaiting_information")

    response = client.post(
        f"/api/v1/status/{appeal['reference']}/documents",
        data={"file": (io.BytesIO(JPEG), "Zaświadczenie ZUS.jpg")},
        headers={"X-Access-Code": appeal["access_code"]},
        content_type="multipart/form-data",
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["media_type"] == "image/jpeg"
    assert response.get_json()["name"] == "Zaświadczenie ZUS.jpg"
    (row,) = _document_rows(app)
    assert row.uploaded_by == "claimant"


@pytest.mark.parametrize(
    "headers, status",
    [({}, 401), ({"X-Access-Code": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"}, 404)],
    ids=["no-code", "wrong-code"],
)
def test_the_claimants_upload_needs_the_right_code(app, client, factory, headers, status):
    appeal = factory.appeal("under_review")
    response = client.post(f"/api/v1/status/{appeal['reference']}/documents",
                           data={"file": (io.BytesIO(PDF), "x.pdf")}, headers=headers,
                           content_type="multipart/form-data")
    assert response.status_code == status
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_the_tribunal_may_add_to_an_appeal_before_it(client, factory):
    appeal = factory.appeal("before_tribunal")
    factory.upload(appeal["reference"], PNG, "hearing-notes.png", headers=factory.staff("tribunal").headers)


@pytest.mark.parametrize(
    "caller, status",
    [
        (dict(role="officer", country="PL"), 403),  # sees the appeal, does not handle it
        (dict(role="officer", country="FR"), 404),
        (dict(role="mediator", country="DE"), 404),  # not in mediation
        (dict(role="oversight", country=None), 404),
        (dict(role="admin", country=None), 404),
        (None, 401),
    ],
)
def test_only_those_who_act_on_the_appeal_upload(app, client, factory, caller, status):
    appeal = factory.appeal("under_review")
    headers = factory.staff(**caller).headers if caller else {}

    response = _post(client, appeal["reference"], PDF, "x.pdf", headers)

    assert response.status_code == status
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_an_upload_to_an_unknown_appeal_is_404(client, factory):
    response = _post(client, UNKNOWN_REFERENCE, PDF, "x.pdf", factory.staff("officer", "DE").headers)
    _assert_error(response, 404, "not_found")


def test_a_closed_appeal_takes_no_more_documents(app, client, factory):
    appeal = factory.appeal("closed")
    response = _post(client, appeal["reference"], PDF, "late.pdf", factory.staff("officer", "DE").headers)
    _assert_error(response, 409, "invalid_transition")
    assert _document_rows(app) == [] and _stored_files(app) == []


# --- refused, nothing stored ---------------------------------------------------------------------

class _NeverRead(io.RawIOBase):
    """A 50 MB request body that must not be read: its announced size alone decides."""

    size = 50 * 1024 * 1024
    position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def test_a_body_announced_too_large_is_refused_before_it_is_read(app, client, factory):
    appeal = factory.appeal("under_review")

    response = client.post(
        f"/api/v1/appeals/{appeal['reference']}/documents",
        input_stream=_NeverRead(),
        content_type="multipart/form-data; boundary=casework",
        headers=factory.staff("officer", "DE").headers,
    )

    body = _assert_error(response, 413, "too_large")
    assert "10 MB" in body["error"]["message"]
    assert _document_rows(app) == [] and _stored_files(app) == []


@pytest.mark.parametrize("extra", [1, 1024 * 1024], ids=["one-byte-over", "a-megabyte-over"])
def test_a_file_over_10_mb_is_refused(app, client, factory, extra):
    appeal = factory.appeal("under_review")
    content = PDF + b"\x00" * (MAX_SIZE - len(PDF) + extra)

    response = _post(client, appeal["reference"], content, "big.pdf", factory.staff("officer", "DE").headers)

    _assert_error(response, 413, "too_large")
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_a_program_named_like_a_pdf_is_refused(app, client, factory):
    appeal = factory.appeal("under_review")
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200

    response = _post(client, appeal["reference"], program, "Bescheid.pdf", factory.staff("officer", "DE").headers)

    _assert_error(response, 415, "unsupported_media_type")
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_an_empty_file_is_refused(app, client, factory):
    appeal = factory.appeal("under_review")
    response = _post(client, appeal["reference"], b"", "empty.pdf", factory.staff("officer", "DE").headers)
    body = _assert_error(response, 422, "validation_error")
    assert body["error"]["details"][0]["field"] == "file"
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_an_upload_without_a_file_is_refused(app, client, factory):
    appeal = factory.appeal("under_review")
    headers = factory.staff("officer", "DE").headers
    url = f"/api/v1/appeals/{appeal['reference']}/documents"

    missing = client.post(url, data={"note": "no file"}, headers=headers, content_type="multipart/form-data")
    as_text = client.post(url, data={"file": "%PDF-1.7 typed into a form field"}, headers=headers,
                          content_type="multipart/form-data")
    as_json = client.post(url, json={"file": "JVBERi0xLjc="}, headers=headers)

    assert _assert_error(missing, 422, "validation_error")["error"]["details"][0]["field"] == "file"
    assert _assert_error(as_text, 422, "validation_error")["error"]["details"][0]["field"] == "file"
    _assert_error(as_json, 415, "unsupported_media_type")
    assert _document_rows(app) == [] and _stored_files(app) == []


def test_a_path_in_the_name_is_kept_as_a_display_name_only(app, client, factory, tmp_path):
    appeal = factory.appeal("under_review")

    body = factory.upload(appeal["reference"], PDF, "../../etc/passwd.pdf")

    assert body["name"] == "passwd.pdf"
    sha256 = hashlib.sha256(PDF).hexdigest()
    assert _stored_files(app) == [f"{sha256[:2]}/{sha256}"]
    # Nothing was written anywhere under the name the uploader gave.
    assert list(tmp_path.rglob("passwd*")) == []


# --- downloads -----------------------------------------------------------------------------------

def test_a_download_streams_the_bytes_with_their_hash_as_etag(client, factory):
    appeal = factory.appeal("escalated")
    uploaded = factory.upload(appeal["reference"], PNG, "Łukasz Żółć – scan.png")
    tribunal = factory.staff("tribunal").headers
    url = f"/api/v1/appeals/{appeal['reference']}/documents/{uploaded['id']}"

    response = client.get(url, headers=tribunal)

    assert response.status_code == 200
    assert response.data == PNG
    assert hashlib.sha256(response.data).hexdigest() == uploaded["sha256"]
    assert response.mimetype == "image/png"
    assert response.headers["ETag"] == f'"{uploaded["sha256"]}"'
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C5%81ukasz%20%C5%BB%C3%B3%C5%82%C4%87" in disposition
    assert "private" in response.headers["Cache-Control"]
    again = client.get(url, headers={**tribunal, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


DOWNLOAD_CALLERS = CASE_FILE_CALLERS


@pytest.mark.parametrize("caller", DOWNLOAD_CALLERS)
def test_only_those_who_receive_the_case_file_download(client, factory, caller):
    factory.tribunal("OTHER", "BE")
    appeal = factory.appeal("escalated")
    uploaded = factory.upload(appeal["reference"], PDF)
    spec, expected = DOWNLOAD_CALLERS[caller]
    headers = factory.staff(**spec).headers if spec else {}

    response = client.get(f"/api/v1/appeals/{appeal['reference']}/documents/{uploaded['id']}", headers=headers)
    unknown = client.get(f"/api/v1/appeals/{UNKNOWN_REFERENCE}/documents/{uploaded['id']}", headers=headers)

    assert response.status_code == expected
    if expected == 200:
        assert response.data == PDF
    else:
        # Not the caller's to see: exactly the answer for an appeal that does not exist.
        assert (response.status_code, response.get_json()) == (unknown.status_code, unknown.get_json())


def test_a_document_is_found_only_under_its_own_appeal(client, factory):
    first = factory.appeal("under_review")
    second = factory.appeal("under_review")
    uploaded = factory.upload(first["reference"], PDF)
    headers = factory.staff("officer", "DE").headers

    elsewhere = client.get(f"/api/v1/appeals/{second['reference']}/documents/{uploaded['id']}", headers=headers)
    missing = client.get(f"/api/v1/appeals/{first['reference']}/documents/999999", headers=headers)
    not_a_number = client.get(f"/api/v1/appeals/{first['reference']}/documents/abc", headers=headers)

    for response in (elsewhere, missing, not_a_number):
        _assert_error(response, 404, "not_found")


def test_api_uploads_need_no_csrf_token_even_where_pages_require_one(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    factory = Factory(app, client)
    appeal = factory.appeal("under_review")
    staff = client.post(f"/api/v1/appeals/{appeal['reference']}/documents", headers=factory.staff("officer", "DE").headers,
                        data={"file": (io.BytesIO(PDF), "e205.pdf")}, content_type="multipart/form-data")
    assert staff.status_code == 201, staff.get_json()
    claimant = client.post(f"/api/v1/status/{appeal['reference']}/documents", headers={"X-Access-Code": appeal["access_code"]},
                           data={"file": (io.BytesIO(PDF), "e205.pdf")}, content_type="multipart/form-data")
    assert claimant.status_code == 201, claimant.get_json()
