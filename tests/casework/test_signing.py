"""The installation's signing keys (casework/signing.py): made once on first use, even by
processes racing for it; rotated without unpublishing older keys; published at /api/v1/keys;
and signatures over the canonical JSON that break when anything changes."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import stat

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casework import signing
from casework.signing import Keyring, KeyringError, SignatureInvalid

DOCUMENT = {"appeal": {"reference": "CW-2026-000001", "claimant": "Łukasz Żółć"}, "events": [1, 2.5, None, True]}


def _pem_files(directory):
    return sorted(path.name for path in directory.glob("*.pem"))


# --- the first key ---------------------------------------------------------------------------

def test_first_use_makes_one_private_key_and_names_it_current(tmp_path):
    directory = tmp_path / "signing-keys"
    key = Keyring(directory).current()

    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw) == 32
    assert key.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert _pem_files(directory) == [f"{key.key_id}.pem"]
    assert stat.S_IMODE((directory / f"{key.key_id}.pem").stat().st_mode) == 0o600
    assert (directory / "current").read_text() == key.key_id
    assert not list(directory.glob(".incoming-*"))
    # Later uses, in this process or another, sign with the same key.
    assert Keyring(directory).current().key_id == key.key_id


def test_a_process_that_loses_the_race_for_the_first_key_signs_with_the_winners(tmp_path, monkeypatch):
    directory = tmp_path / "signing-keys"
    winner = Keyring(directory).current()
    late = Keyring(directory)
    # The late process looked before the winner named its key current, so it makes one too.
    monkeypatch.setattr(late, "_current_id", iter([None, winner.key_id]).__next__)

    assert late.current().key_id == winner.key_id
    assert _pem_files(directory) == [f"{winner.key_id}.pem"]


def _first_key(directory, barrier, results):
    barrier.wait()
    results.put(Keyring(directory).current().key_id)


def test_processes_making_the_first_key_at_once_agree_on_one(tmp_path):
    context = multiprocessing.get_context("fork")
    for attempt in range(3):
        directory = tmp_path / f"signing-keys-{attempt}"
        barrier, results = context.Barrier(6), context.Queue()
        processes = [context.Process(target=_first_key, args=(directory, barrier, results)) for _ in range(6)]
        for process in processes:
            process.start()
        key_ids = {results.get(timeout=30) for _ in processes}
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0

        assert len(key_ids) == 1
        assert _pem_files(directory) == [f"{key_ids.pop()}.pem"]


def test_a_configured_key_file_signs_and_nothing_is_generated(tmp_path):
    private_key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "casework-signing.pem"
    key_file.write_bytes(private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    keyring = Keyring(tmp_path / "signing-keys", key_file)

    assert keyring.current().key_id == signing.key_id_for(private_key.public_key())
    assert [key.key_id for key in keyring.keys()] == [keyring.current().key_id]
    assert not (tmp_path / "signing-keys").exists()
    with pytest.raises(KeyringError, match="SIGNING_KEY_FILE"):
        keyring.rotate()


def test_a_key_that_is_not_ed25519_is_refused(tmp_path):
    key_file = tmp_path / "ecdsa.pem"
    key_file.write_bytes(generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    with pytest.raises(KeyringError, match="not an Ed25519 key"):
        Keyring(tmp_path / "signing-keys", key_file).current()


def test_a_key_file_under_another_keys_name_is_refused(tmp_path):
    directory = tmp_path / "signing-keys"
    key = Keyring(directory).current()
    other = Keyring(tmp_path / "elsewhere").current()
    (directory / f"{key.key_id}.pem").write_bytes((tmp_path / "elsewhere" / f"{other.key_id}.pem").read_bytes())

    with pytest.raises(KeyringError, match=f"holds key {other.key_id}, not {key.key_id}"):
        Keyring(directory).current()


# --- rotation --------------------------------------------------------------------------------

def test_rotation_makes_a_new_current_key_and_keeps_the_old_ones_published(tmp_path):
    keyring = Keyring(tmp_path / "signing-keys")
    first = keyring.current()
    signature = signing.sign(DOCUMENT, first)

    second = keyring.rotate()
    third = keyring.rotate()

    assert keyring.current().key_id == third.key_id
    assert [key.key_id for key in keyring.keys()][0] == third.key_id
    assert {key.key_id for key in keyring.keys()} == {first.key_id, second.key_id, third.key_id}
    assert signing.check_signature(DOCUMENT, signature, keyring.public_keys()) == first.key_id
    assert signing.sign(DOCUMENT, keyring.current())["key_id"] == third.key_id


# --- signatures ------------------------------------------------------------------------------

@pytest.fixture
def keyring(tmp_path):
    return Keyring(tmp_path / "signing-keys")


def test_a_signature_covers_the_canonical_form_whatever_the_key_order(keyring):
    signature = signing.sign(DOCUMENT, keyring.current())
    reordered = {"events": list(DOCUMENT["events"]), "appeal": dict(reversed(list(DOCUMENT["appeal"].items())))}

    assert rfc8785.dumps(reordered) == rfc8785.dumps(DOCUMENT)
    assert signing.check_signature(reordered, signature, keyring.public_keys()) == keyring.current().key_id
    assert signature["alg"] == "Ed25519"
    assert len(base64.b64decode(signature["value"])) == 64


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda document, signature: document["appeal"].update(claimant="Lukasz Zolc"), "does not match"),
        (lambda document, signature: document["events"].append(3), "does not match"),
        (lambda document, signature: signature.update(key_id="0123456789abcdef"), "has not published"),
        (lambda document, signature: signature.update(alg="RS256"), "not an Ed25519 signature"),
        (lambda document, signature: signature.update(value="not base64!"), "does not match"),
        (lambda document, signature: signature.update(value=base64.b64encode(b"\0" * 64).decode()), "does not match"),
        (lambda document, signature: signature.pop("value"), "does not match"),
    ],
)
def test_a_changed_document_or_signature_is_refused(keyring, change, reason):
    document = {"appeal": dict(DOCUMENT["appeal"]), "events": list(DOCUMENT["events"])}
    signature = signing.sign(document, keyring.current())
    change(document, signature)

    with pytest.raises(SignatureInvalid, match=reason):
        signing.check_signature(document, signature, keyring.public_keys())


# --- /api/v1/keys and the rotate command -------------------------------------------------------

def test_keys_are_published_without_credentials_current_first(app, client, runner):
    first = client.get("/api/v1/keys")
    assert first.status_code == 200
    (published,) = first.get_json()["keys"]
    assert published["alg"] == "Ed25519"
    raw = base64.b64decode(published["public_key"])
    assert len(raw) == 32 and published["key_id"] == hashlib.sha256(raw).hexdigest()[:16]

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output

    keys = client.get("/api/v1/keys").get_json()["keys"]
    assert len(keys) == 2
    assert keys[1] == published
    assert keys[0]["key_id"] in result.output
    with app.app_context():
        assert signing.keyring().current().key_id == keys[0]["key_id"]


def test_rotate_refuses_when_the_key_is_configured(make_app, tmp_path):
    key_file = tmp_path / "configured.pem"
    key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    app = make_app(SIGNING_KEY_FILE=str(key_file))
    try:
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    finally:
        app.extensions["casework.db"].dispose()

    assert result.exit_code == 1
    assert "SIGNING_KEY_FILE" in result.output
