"""Field encryption and blind indexes: what makes a stolen database useless.

Ciphertext layout (bytes): version (1) | key id (4) | nonce (12) | AES-256-GCM output.
The key id is derived from the key itself, so rotating means: set the new key as
REDFLAG_DATA_KEY, move the old one to REDFLAG_OLD_DATA_KEYS, run `redflag reencrypt`.
Each value is bound to its purpose (e.g. "report.what_happened") as associated data,
so a ciphertext copied into another column does not decrypt.

Blind indexes are HMAC-SHA256 under a separate key: equal inputs give equal digests
(for matching and look-ups) but a digest reveals nothing without the key, which never
sits in the database. Phone numbers are a small space; only a keyed hash protects them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.settings import Settings

VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES


class DecryptionError(Exception):
    """A ciphertext could not be decrypted; the message never contains data."""


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"redflag data key id", hashlib.sha256).digest()[:KEY_ID_BYTES]


class FieldCipher:
    """Encrypts with the current data key; decrypts with the current or any old key."""

    def __init__(self, current: bytes, old: Iterable[bytes] = ()) -> None:
        self._current_id = key_id(current)
        self._keys = {key_id(k): AESGCM(k) for k in old}
        self._keys[self._current_id] = AESGCM(current)

    @property
    def current_key_id(self) -> bytes:
        return self._current_id

    def encrypt(self, plaintext: str, *, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current_id].encrypt(
            nonce, plaintext.encode("utf-8"), purpose.encode()
        )
        return bytes([VERSION]) + self._current_id + nonce + sealed

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        if len(blob) < HEADER_BYTES + 16 or blob[0] != VERSION:
            raise DecryptionError("not a redflag ciphertext (wrong version or too short)")
        kid, nonce, sealed = blob[1:5], blob[5:HEADER_BYTES], blob[HEADER_BYTES:]
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptionError(
                f"encrypted with key id {kid.hex()}, which is not configured; "
                "add that key to REDFLAG_OLD_DATA_KEYS"
            )
        try:
            return aead.decrypt(nonce, sealed, purpose.encode()).decode("utf-8")
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext for {purpose!r} failed authentication (tampered or wrong purpose)"
            ) from None

    def encrypted_with_current_key(self, blob: bytes) -> bool:
        return blob[1:5] == self._current_id

    def reencrypt(self, blob: bytes, *, purpose: str) -> bytes:
        return self.encrypt(self.decrypt(blob, purpose=purpose), purpose=purpose)


class BlindIndex:
    """Keyed digests of normalised values, separated by kind ("phone", "receipt", ...)."""

    DIGEST_BYTES = 32

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, kind: str, value: str) -> bytes:
        message = kind.encode() + b"\x00" + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class Crypto:
    cipher: FieldCipher
    index: BlindIndex

    @classmethod
    def from_settings(cls, settings: Settings) -> Crypto:
        return cls(
            cipher=FieldCipher(settings.key_bytes("data_key"), settings.old_data_key_bytes()),
            index=BlindIndex(settings.key_bytes("index_key")),
        )
