import base64, json, sys, urllib.request  # noqa: E401 - standalone: only cryptography and rfc8785 to install
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def verify(signed: dict, published: dict) -> bool:
    """True when `signature` is an Ed25519 signature of the JCS form of `bundle` by a published key."""
    signature = signed["signature"]
    keys = [k["public_key"] for k in published["keys"] if k["key_id"] == signature["key_id"] and k["alg"] == "Ed25519"]
    if signature["alg"] != "Ed25519" or not keys:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(keys[0])).verify(
            base64.b64decode(signature["value"]), rfc8785.dumps(signed["bundle"]))
        return True
    except InvalidSignature:
        return False


if __name__ == "__main__":  # python verify_bundle.py https://casework.example.org bundle.json
    published = json.load(urllib.request.urlopen(sys.argv[1].rstrip("/") + "/api/v1/keys"))
    ok = verify(json.load(open(sys.argv[2], encoding="utf-8")), published)
    print(f"OK: signed by a key that {sys.argv[1]} publishes" if ok else "INVALID: not signed by a published key")
    sys.exit(0 if ok else 1)
