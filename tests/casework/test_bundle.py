"""The signed case file (casework/bundle.py): complete, verifiable by a receiving system that knows
only the published keys, and broken by any change — to a single value, to a document's bytes, or
to the history — while the same content in any key order keeps one canonical form."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import runpy
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
import rfc8785

from casework import bundle, signing
from casework.bundle import BundleInvalid
from tests.factories import JPEG, PDF, PNG, Factory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "verify_bundle.py"
POLISH_NAME = "Łukasz Żółć"
ARABIC_NAME = "فاطمة الزهراء"

# Everything an appeal can go through before the tribunal: information requested and received,
# a refusal, mediation extended and failed, escalation, acknowledgement and a hearing.
HISTORY = [
    ("officer", {"action": "admit"}),
    ("officer", {"action": "request_information", "from": "claimant", "items": ["Polish contribution records"]}),
    ("officer", {"action": "receive_information"}),
    ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "Periods in Poland not proven."}),
    ("officer", {"action": "request_mediation"}),
    ("officer", {"action": "extend_mediation", "reason": "ZUS records requested."}),
    ("officer", {"action": "end_mediation", "reason": "No agreement on the Polish periods."}),
    ("tribunal", {"action": "acknowledge_referral"}),
    ("tribunal", {"action": "schedule_hearing", "hearing_at": "2099-03-02T09:30:00Z", "mode": "video"}),
]


@pytest.fixture
def case(client, factory):
    """An appeal before the tribunal with its whole history and three documents."""
    appeal = factory.appeal("lodged", claimant__name=POLISH_NAME)
    reference = appeal["reference"]
    for role, action in HISTORY:
        factory.act(reference, role, action)
    uploads = [
        factory.upload(reference, PDF, "Bescheid DRV-2026-55.pdf"),
        factory.upload(reference, JPEG, "Zaświadczenie ZUS.jpg"),
        factory.upload(reference, PNG, "../../etc/passwd.png", headers=factory.staff("tribunal").headers),
    ]
    return {"reference": reference, "uploads": uploads, "access_code": appeal["access_code"]}


def _fetch(client, factory, reference, suffix="") -> dict | bytes:
    response = client.get(f"/api/v1/appeals/{reference}/bundle{suffix}", headers=factory.staff("tribunal").headers)
    assert response.status_code == 200, response.data[:500]
    return response.data if suffix else response.get_json()


def _public_keys(app):
    with app.app_context():
        return signing.keyring().public_keys()


# --- what it holds -----------------------------------------------------------------------------

def test_the_bundle_holds_what_the_tribunal_needs_to_decide(app, client, factory, case):
    signed = _fetch(client, factory, case["reference"])
    content = signed["bundle"]
    appeal = content["appeal"]

    assert set(signed) == {"bundle", "signature"}
    assert set(content) == {"format", "issued_at", "issuer", "appeal", "events", "documents"}
    assert content["format"] == "casework-bundle/3"
    assert content["issuer"] == "http://localhost"
    assert appeal["reference"] == case["reference"] and appeal["state"] == "before_tribunal"
    assert appeal["claimant"] == {
        "name": POLISH_NAME, "birth_date": "1958-03-14", "residence_country": "ES", "preferred_language": "pl",
        "personal_ids": [{"country": "PL", "scheme": "PESEL", "value": "58031412345"}],
    }
    assert "email" not in appeal["claimant"]  # contact details are not needed to decide
    assert appeal["contested_decision"]["institution_name"] == "Deutsche Rentenversicherung"
    assert (appeal["handling_country"], appeal["involved_countries"]) == ("DE", ["PL"])
    assert appeal["filed_in_time"] is True and appeal["filing_deadline"]
    assert appeal["grounds"].startswith("Contribution periods in Poland")
    assert appeal["review_decision"] == {
        "outcome": "refused", "reasons": "Periods in Poland not proven.", "deemed_refusal": False,
        "decided_at": appeal["review_decision"]["decided_at"], "event_seq": 5,
    }
    assert appeal["mediation"]["outcome"] == "failed" and appeal["mediation"]["extended"] is True
    assert appeal["mediation"]["reason"] == "No agreement on the Polish periods."
    assert appeal["tribunal"] == {"code": "CBSST", "name": "Cross-Border Social Security Tribunal", "country": "LU"}
    assert appeal["hearing"] == {"hearing_at": "2099-03-02T09:30:00Z", "mode": "video"}

    deadlines = {row["kind"]: row for row in appeal["deadlines"]}
    assert set(deadlines) == {"admissibility", "review", "information", "claimant_response", "mediation",
                              "tribunal_acknowledgement"}
    assert all(row["status"] == "met" and row["met"] is True for row in appeal["deadlines"])
    assert deadlines["tribunal_acknowledgement"]["jurisdiction"] == "LU"

    events = client.get(f"/api/v1/appeals/{case['reference']}/events",
                        headers=factory.staff("officer", "DE").headers).get_json()["items"]
    # The bundle adds what the hashes are computed from: the role, the salt and the personal digests.
    extra = {"actor_role", "personal_salt", "personal_digests"}
    assert [{k: v for k, v in e.items() if k not in extra} for e in content["events"]] == events
    assert all(len(e["personal_salt"]) == 32 and set(e["personal_digests"]) == {"actor", "payload"}
               for e in content["events"])
    assert [e["action"] for e in content["events"]] == ["lodge"] + [action["action"] for _, action in HISTORY]
    assert content["documents"] == case["uploads"]
    assert content["documents"][2]["name"] == "passwd.png"


def test_a_running_deadline_is_neither_met_nor_missed(client, factory):
    appeal = factory.appeal("escalated")
    deadlines = _fetch(client, factory, appeal["reference"])["bundle"]["appeal"]["deadlines"]
    acknowledgement = [row for row in deadlines if row["kind"] == "tribunal_acknowledgement"][0]
    assert (acknowledgement["status"], acknowledgement["met"], acknowledgement["ended_at"]) == ("pending", None, None)


def test_the_issuer_can_be_configured(make_app):
    app = make_app(BUNDLE_ISSUER="Deutsche Rentenversicherung, Widerspruchsstelle")
    try:
        client = app.test_client()
        factory = Factory(app, client)
        appeal = factory.appeal("escalated")
        assert _fetch(client, factory, appeal["reference"])["bundle"]["issuer"] == (
            "Deutsche Rentenversicherung, Widerspruchsstelle"
        )
    finally:
        app.extensions["casework.db"].dispose()


# --- it verifies, and nothing in it can change -------------------------------------------------

def test_a_bundle_verifies_against_the_published_keys(app, client, factory, case):
    signed = _fetch(client, factory, case["reference"])

    verified = bundle.verify(signed, _public_keys(app))

    assert verified.reference == case["reference"]
    assert verified.key_id == signed["signature"]["key_id"]
    assert (verified.events, verified.documents) == (10, 3)


def _leaves(node, path=()):
    """Every value in a JSON document that is not a container with something in it."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("x" if value[-1:] != "x" else "y")
    if value is None:
        return ""
    if isinstance(value, dict):
        return {"added": True}
    return [None]


def test_changing_any_single_value_breaks_verification(app, client, factory, case):
    signed = _fetch(client, factory, case["reference"])
    keys = _public_keys(app)
    paths = list(_leaves(signed))
    assert len(paths) > 200

    for path in paths:
        tampered = copy.deepcopy(signed)
        parent = tampered
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = _changed(parent[path[-1]])
        with pytest.raises(BundleInvalid):
            bundle.verify(tampered, keys)
            pytest.fail(f"a change at {'/'.join(map(str, path))} went unnoticed")


def test_removing_or_adding_anything_breaks_verification(app, client, factory, case):
    signed = _fetch(client, factory, case["reference"])
    keys = _public_keys(app)
    changes = [
        lambda s: s["bundle"]["events"].pop(),
        lambda s: s["bundle"]["documents"].pop(0),
        lambda s: s["bundle"]["appeal"].pop("mediation"),
        lambda s: s["bundle"]["appeal"].update(note="added"),
        lambda s: s["bundle"]["events"].reverse(),
        lambda s: s.pop("signature"),
        lambda s: s.pop("bundle"),
    ]
    for change in changes:
        tampered = copy.deepcopy(signed)
        change(tampered)
        with pytest.raises(BundleInvalid):
            bundle.verify(tampered, keys)


def test_a_history_broken_before_signing_is_caught_by_the_hash_chain(app, client, factory, case):
    signed = _fetch(client, factory, case["reference"])
    rewritten = copy.deepcopy(signed["bundle"])
    rewritten["events"][4]["payload"]["reasons"] = "Granted after all."
    with app.app_context():
        resigned = {"bundle": rewritten, "signature": signing.sign(rewritten, signing.keyring().current())}

    with pytest.raises(BundleInvalid, match="event 5: content does not match its hash"):
        bundle.verify(resigned, _public_keys(app))


def test_a_bundle_of_the_first_format_still_verifies(app, client, factory, case):
    """``casework-bundle/1``, issued before personal values were hashed apart: its events carry
    no salt or digests and their hashes cover every field as recorded."""
    signed = _fetch(client, factory, case["reference"])
    first = copy.deepcopy(signed["bundle"])
    first["format"] = "casework-bundle/1"
    prev = "0" * 64
    for event in first["events"]:
        del event["personal_salt"], event["personal_digests"]
        content = {"appeal": case["reference"], **{k: v for k, v in event.items() if k not in ("hash", "prev_hash")}}
        event["prev_hash"], event["hash"] = prev, hashlib.sha256(prev.encode() + rfc8785.dumps(content)).hexdigest()
        prev = event["hash"]
    with app.app_context():
        issued = {"bundle": first, "signature": signing.sign(first, signing.keyring().current())}
        changed = copy.deepcopy(first)
        changed["events"][4]["payload"]["reasons"] = "Granted after all."
        resigned = {"bundle": changed, "signature": signing.sign(changed, signing.keyring().current())}

    assert bundle.verify(issued, _public_keys(app)).events == 10
    with pytest.raises(BundleInvalid, match="event 5: content does not match its hash"):
        bundle.verify(resigned, _public_keys(app))


# --- one canonical form ------------------------------------------------------------------------

def _reordered(node):
    """The same JSON with every object's keys in the opposite order."""
    if isinstance(node, dict):
        return {key: _reordered(node[key]) for key in reversed(list(node))}
    if isinstance(node, list):
        return [_reordered(value) for value in node]
    return node


@pytest.mark.parametrize("name", [POLISH_NAME, ARABIC_NAME])
def test_the_canonical_form_is_the_same_in_any_key_order_and_keeps_names_intact(app, client, factory, name):
    appeal = factory.appeal("escalated", claimant__name=name)
    signed = _fetch(client, factory, appeal["reference"])
    reordered = _reordered(signed)

    assert list(reordered["bundle"]) != list(signed["bundle"])
    canonical = rfc8785.dumps(signed["bundle"])
    assert rfc8785.dumps(reordered["bundle"]) == canonical
    assert rfc8785.dumps(json.loads(json.dumps(signed["bundle"], ensure_ascii=True))) == canonical
    assert name.encode("utf-8") in canonical  # UTF-8 as it is, never \u escapes
    assert json.loads(canonical)["appeal"]["claimant"]["name"] == name
    assert bundle.verify(reordered, _public_keys(app)).reference == appeal["reference"]


# --- the zip and its documents ------------------------------------------------------------------

def test_the_zip_holds_the_signed_bundle_and_every_document(app, client, factory, case):
    data = _fetch(client, factory, case["reference"], ".zip")

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        signed = json.loads(archive.read("bundle.json"))
        for document in signed["bundle"]["documents"]:
            content = archive.read(f"documents/{document['sha256']}")
            assert hashlib.sha256(content).hexdigest() == document["sha256"]
            assert len(content) == document["size"]
    assert names == sorted(["bundle.json"] + [f"documents/{u['sha256']}" for u in case["uploads"]])
    verified = bundle.verify_zip(io.BytesIO(data), _public_keys(app))
    assert verified.documents_checked and verified.documents == 3


def test_a_downloaded_document_matches_the_hash_in_the_bundle(client, factory, case):
    signed = _fetch(client, factory, case["reference"])
    for document in signed["bundle"]["documents"]:
        response = client.get(f"/api/v1/appeals/{case['reference']}/documents/{document['id']}",
                              headers=factory.staff("tribunal").headers)
        assert hashlib.sha256(response.data).hexdigest() == document["sha256"]
        assert len(response.data) == document["size"]


def _rezip(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The zip with some entries' bytes replaced (None: left out), written afresh so that only
    the content, not the zip's own checksums, is wrong."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for name in source.namelist():
            content = replace.get(name, source.read(name))
            if content is not None:
                target.writestr(name, content)
    return output.getvalue()


def test_a_document_whose_bytes_changed_no_longer_matches(app, client, factory, case):
    data = _fetch(client, factory, case["reference"], ".zip")
    pdf = case["uploads"][0]
    keys = _public_keys(app)
    same_size = PDF.replace(b"Catalog", b"Catalot")
    assert len(same_size) == len(PDF) and hashlib.sha256(same_size).hexdigest() != pdf["sha256"]

    with pytest.raises(BundleInvalid, match=r"document \d+ \(Bescheid DRV-2026-55.pdf\) does not match its sha256"):
        bundle.verify_zip(io.BytesIO(_rezip(data, {f"documents/{pdf['sha256']}": same_size})), keys)
    with pytest.raises(BundleInvalid, match=f"has {len(PDF) + 1} bytes, the bundle says {len(PDF)}"):
        bundle.verify_zip(io.BytesIO(_rezip(data, {f"documents/{pdf['sha256']}": PDF + b"\n"})), keys)
    with pytest.raises(BundleInvalid, match="is missing from the zip"):
        bundle.verify_zip(io.BytesIO(_rezip(data, {f"documents/{pdf['sha256']}": None})), keys)
    with pytest.raises(BundleInvalid, match="no bundle.json"):
        bundle.verify_zip(io.BytesIO(_rezip(data, {"bundle.json": None})), keys)


def test_a_document_changed_in_storage_no_longer_matches_its_hash(app, client, factory, case):
    pdf = case["uploads"][0]
    stored = Path(app.instance_path) / "documents" / pdf["sha256"][:2] / pdf["sha256"]
    stored.write_bytes(PDF.replace(b"Catalog", b"Catalot"))

    data = _fetch(client, factory, case["reference"], ".zip")

    with pytest.raises(BundleInvalid, match="does not match its sha256"):
        bundle.verify_zip(io.BytesIO(data), _public_keys(app))


# --- rotation ------------------------------------------------------------------------------------

def test_a_bundle_signed_before_a_rotation_still_verifies_after_it(app, client, factory, runner, case, tmp_path):
    before = _fetch(client, factory, case["reference"])
    saved = tmp_path / "before.json"
    saved.write_text(json.dumps(before))

    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0

    after = _fetch(client, factory, case["reference"])
    assert after["signature"]["key_id"] != before["signature"]["key_id"]
    published = client.get("/api/v1/keys").get_json()["keys"]
    assert [key["key_id"] for key in published] == [after["signature"]["key_id"], before["signature"]["key_id"]]
    assert bundle.verify(before, _public_keys(app)).key_id == before["signature"]["key_id"]
    result = runner.invoke(args=["bundle", "verify", str(saved)])
    assert result.exit_code == 0 and result.output.startswith("OK ")


# --- the verify command ----------------------------------------------------------------------------

def test_the_verify_command_accepts_good_files_and_names_what_is_wrong_with_others(client, factory, runner, case,
                                                                                  tmp_path):
    signed = _fetch(client, factory, case["reference"])
    data = _fetch(client, factory, case["reference"], ".zip")
    good_json, good_zip = tmp_path / "bundle.json", tmp_path / "bundle.zip"
    good_json.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    good_zip.write_bytes(data)
    tampered = copy.deepcopy(signed)
    tampered["bundle"]["appeal"]["claimant"]["birth_date"] = "1958-03-15"
    tampered_json = tmp_path / "tampered.json"
    tampered_json.write_text(json.dumps(tampered))
    tampered_zip = tmp_path / "tampered.zip"
    tampered_zip.write_bytes(_rezip(data, {f"documents/{case['uploads'][1]['sha256']}": JPEG[:-1] + b"\x00"}))
    not_a_bundle = tmp_path / "notes.txt"
    not_a_bundle.write_text("not a bundle")

    for good in (good_json, good_zip):
        result = runner.invoke(args=["bundle", "verify", str(good)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"OK {case['reference']}: signed by key {signed['signature']['key_id']}")
        assert "10 events, hash chain intact; 3 documents" in result.output
    expectations = {
        tampered_json: "the signature does not match the content",
        tampered_zip: "document",
        not_a_bundle: "neither a zip nor JSON",
    }
    for bad, reason in expectations.items():
        result = runner.invoke(args=["bundle", "verify", str(bad)])
        assert result.exit_code == 1
        assert result.output.startswith("INVALID") and reason in result.output
        assert len(result.output.strip().splitlines()) == 1


# --- the standalone example ------------------------------------------------------------------------

def test_the_example_script_is_short_and_needs_only_cryptography_and_rfc8785():
    source = EXAMPLE.read_text()
    assert len(source.splitlines()) <= 25
    imports = {line.split()[1].split(".")[0].rstrip(",") for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"base64", "json", "sys", "urllib", "rfc8785", "cryptography"}


@pytest.mark.parametrize("tamper, exit_code", [(False, 0), (True, 1)], ids=["as-issued", "tampered"])
def test_the_example_script_verifies_a_real_bundle(client, factory, monkeypatch, tmp_path, capsys, tamper, exit_code):
    appeal = factory.appeal("escalated", claimant__name=ARABIC_NAME)
    signed = _fetch(client, factory, appeal["reference"])
    if tamper:
        signed["bundle"]["appeal"]["grounds"] += " "
    saved = tmp_path / "bundle.json"
    saved.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    fetched = []

    def urlopen(url):
        fetched.append(url)
        return io.BytesIO(client.get(url.removeprefix("https://casework.example.org")).data)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(sys, "argv", ["verify_bundle.py", "https://casework.example.org/", str(saved)])

    with pytest.raises(SystemExit) as finished:
        runpy.run_path(str(EXAMPLE), run_name="__main__")

    assert finished.value.code == exit_code
    assert fetched == ["https://casework.example.org/api/v1/keys"]
    assert capsys.readouterr().out.startswith("INVALID" if tamper else "OK")
