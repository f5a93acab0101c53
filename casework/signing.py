"""The installation's signing keys: what lets a tribunal on its own case system prove that a
case-file bundle came from this installation and was not changed on the way.

Keys are Ed25519. The first is generated into ``<instance>/signing-keys/`` the first time one is
needed (or the configured ``SIGNING_KEY_FILE`` is used); ``flask --app casework keys rotate``
makes a new current key. Every key ever used stays published at ``/api/v1/keys``, so a bundle
signed before a rotation still verifies after it.

On disk: one PEM file per key, named by its key id and readable by its owner only, and a file
``current`` naming the key that signs. Files are written to a temporary name and then linked or
renamed into place, so no process ever reads half a key, and two processes creating the first
key at the same moment agree on one of them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app
from flask.cli import AppGroup

ALG = "Ed25519"
CURRENT = "current"
KEYS_DIRECTORY = "signing-keys"


class KeyringError(Exception):
    """The keys on disk or in the configuration cannot be used (damaged, misnamed, not Ed25519)."""


class SignatureInvalid(Exception):
    """A signature that does not prove what it claims, with the reason in one line."""


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """Short, stable name of a key: derived from the key itself, so nobody has to keep a registry."""
    return hashlib.sha256(raw_public_bytes(public_key)).hexdigest()[:16]


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def _load_pem(path: Path) -> SigningKey:
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise KeyringError(f"{path}: not an unencrypted PEM private key ({error})") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyringError(f"{path}: not an Ed25519 key")
    return SigningKey(key_id_for(private_key.public_key()), private_key)


def _pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _put_file(directory: Path, name: str, data: bytes, *, replace: bool) -> None:
    """Write ``data`` under ``name`` so that readers see all of it or nothing: into a private
    temporary file (mode 0600), then renamed over ``name`` (``replace``) or hard-linked to it,
    which fails with ``FileExistsError`` if ``name`` already exists: an exclusive create that
    never exposes an empty file, as ``O_EXCL`` followed by a write would."""
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".incoming-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as output:
            output.write(data)
            output.flush()
            os.fsync(output.fileno())
        if replace:
            os.replace(temporary, directory / name)
        else:
            os.link(temporary, directory / name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


class Keyring:
    """The keys of one installation: the one that signs now and every one that signed before."""

    def __init__(self, directory: Path, key_file: Path | None = None):
        self.directory = directory
        self.key_file = key_file

    @classmethod
    def for_app(cls, app: Flask) -> "Keyring":
        key_file = app.config.get("SIGNING_KEY_FILE")
        return cls(Path(app.instance_path) / KEYS_DIRECTORY, Path(key_file) if key_file else None)

    def _path(self, key_id: str) -> Path:
        return self.directory / f"{key_id}.pem"

    def _load(self, key_id: str) -> SigningKey:
        key = _load_pem(self._path(key_id))
        if key.key_id != key_id:
            raise KeyringError(f"{self._path(key_id)} holds key {key.key_id}, not {key_id}")
        return key

    def _add(self) -> SigningKey:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_key = Ed25519PrivateKey.generate()
        key = SigningKey(key_id_for(private_key.public_key()), private_key)
        _put_file(self.directory, self._path(key.key_id).name, _pem(private_key), replace=False)
        return key

    def _current_id(self) -> str | None:
        try:
            return (self.directory / CURRENT).read_text().strip() or None
        except FileNotFoundError:
            return None

    def _create_first(self) -> str:
        key = self._add()
        try:
            _put_file(self.directory, CURRENT, key.key_id.encode(), replace=False)
            return key.key_id
        except FileExistsError:
            # Another process made the first key at the same moment and named it current first.
            # Ours never signed anything: remove it, and sign with theirs.
            self._path(key.key_id).unlink()
            return self._current_id()

    def current(self) -> SigningKey:
        """The key that signs now, made on first use when none is configured or on disk."""
        if self.key_file is not None:
            return _load_pem(self.key_file)
        return self._load(self._current_id() or self._create_first())

    def keys(self) -> list[SigningKey]:
        """Every published key: the current one first, then the older ones, newest first."""
        current = self.current()
        files = sorted(self.directory.glob("*.pem"), key=lambda p: (-p.stat().st_mtime_ns, p.name))
        older = [self._load(path.stem) for path in files if path.stem != current.key_id]
        return [current, *older]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {key.key_id: key.public_key for key in self.keys()}

    def rotate(self) -> SigningKey:
        """Make a new key current; the old ones stay on disk and published."""
        if self.key_file is not None:
            raise KeyringError(
                "the signing key is configured (SIGNING_KEY_FILE): rotate by pointing it at a new key, "
                f"and keep the old one in {self.directory} so that it stays published"
            )
        key = self._add()
        _put_file(self.directory, CURRENT, key.key_id.encode(), replace=True)
        return key


def keyring() -> Keyring:
    return Keyring.for_app(current_app)


def published(keys: list[SigningKey]) -> list[dict]:
    """The keys as ``/api/v1/keys`` lists them: what a receiving system needs to verify."""
    return [
        {"key_id": key.key_id, "alg": ALG, "public_key": base64.b64encode(raw_public_bytes(key.public_key)).decode()}
        for key in keys
    ]


def sign(document: dict, key: SigningKey) -> dict:
    """The signature over the RFC 8785 canonical form of ``document``, which any JCS library
    reproduces byte for byte, whatever order the receiver's parser keeps keys in."""
    value = key.private_key.sign(rfc8785.dumps(document))
    return {"alg": ALG, "key_id": key.key_id, "value": base64.b64encode(value).decode()}


def check_signature(document: dict, signature: dict, public_keys: dict[str, Ed25519PublicKey]) -> str:
    """The id of the key whose signature over ``document`` this is; ``SignatureInvalid`` otherwise."""
    if not isinstance(signature, dict) or signature.get("alg") != ALG:
        raise SignatureInvalid(f"the signature is not an {ALG} signature")
    key_id = signature.get("key_id")
    if not isinstance(key_id, str) or key_id not in public_keys:
        raise SignatureInvalid(f"signed with key {key_id!r}, which this installation has not published")
    try:
        value = base64.b64decode(signature.get("value") or "", validate=True)
        public_keys[key_id].verify(value, rfc8785.dumps(document))
    except (binascii.Error, TypeError, InvalidSignature, rfc8785.CanonicalizationError):
        raise SignatureInvalid(f"the signature does not match the content (key {key_id})") from None
    return key_id


keys_cli = AppGroup("keys", help="The keys that sign case-file bundles.")


@keys_cli.command("rotate")
def keys_rotate():
    """Make a new signing key current; older keys stay published, so older bundles still verify."""
    try:
        key = keyring().rotate()
    except KeyringError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"new current key {key.key_id}; every older key stays published")

