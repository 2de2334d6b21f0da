"""VAPID keys for web push (RFC 8292): the service's own P-256 key pair, which signs every
push request so that browsers' push services accept them only from this service.

Both keys are base64url without padding, as browsers and pywebpush expect them: the
private key is the raw 32-byte scalar, the public key the uncompressed 65-byte point (the
`applicationServerKey` the subscribe page hands to `pushManager.subscribe`).
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; ValueError for any other character (binascii
    would quietly skip it)."""
    text = text.strip()
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def new_keys() -> tuple[str, str]:
    """A fresh pair: (REDFLAG_VAPID_PRIVATE_KEY, REDFLAG_VAPID_PUBLIC_KEY)."""
    private = ec.generate_private_key(ec.SECP256R1())
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    return b64url(scalar), b64url(public_point(private.public_key()))


def private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """The private key from its base64url scalar; ValueError if it is not one."""
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def key_problem(private: str, public: str) -> str | None:
    """Why this pair cannot be used, or None."""
    hint = "generate a pair with `redflag keygen`"
    try:
        key = private_key(private)
    except ValueError:
        return f"REDFLAG_VAPID_PRIVATE_KEY is not a base64url P-256 private key ({hint})"
    try:
        given = b64url_decode(public)
    except ValueError:
        given = b""
    if given != public_point(key.public_key()):
        return (
            f"REDFLAG_VAPID_PUBLIC_KEY is not the public key of REDFLAG_VAPID_PRIVATE_KEY ({hint})"
        )
    return None
