"""Field encryption and blind indexes: a stolen database gives nothing away."""

import os

import pytest

from app.crypto import BlindIndex, DecryptionError, FieldCipher, key_id


def test_round_trip_and_nothing_readable_in_the_ciphertext() -> None:
    cipher = FieldCipher(os.urandom(32))
    blob = cipher.encrypt("he hit me at the station", purpose="report.what_happened")
    assert b"station" not in blob
    assert cipher.decrypt(blob, purpose="report.what_happened") == "he hit me at the station"


def test_same_text_encrypts_differently_each_time() -> None:
    cipher = FieldCipher(os.urandom(32))
    assert cipher.encrypt("same", purpose="p") != cipher.encrypt("same", purpose="p")


def test_ciphertext_carries_the_key_id() -> None:
    key = os.urandom(32)
    blob = FieldCipher(key).encrypt("x", purpose="p")
    assert blob[0] == 1
    assert blob[1:5] == key_id(key)


def test_a_ciphertext_moved_to_another_column_does_not_decrypt() -> None:
    cipher = FieldCipher(os.urandom(32))
    blob = cipher.encrypt("secret", purpose="report.what_happened")
    with pytest.raises(DecryptionError, match="failed authentication"):
        cipher.decrypt(blob, purpose="subscriber.contact")


def test_tampering_is_detected() -> None:
    cipher = FieldCipher(os.urandom(32))
    blob = bytearray(cipher.encrypt("secret", purpose="p"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob), purpose="p")


def test_rotation_old_key_still_decrypts_and_reencrypt_moves_to_the_new_key() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    blob = FieldCipher(old_key).encrypt("text written last year", purpose="p")

    rotated = FieldCipher(new_key, old=[old_key])
    assert rotated.decrypt(blob, purpose="p") == "text written last year"
    assert not rotated.encrypted_with_current_key(blob)

    fresh = rotated.reencrypt(blob, purpose="p")
    assert rotated.encrypted_with_current_key(fresh)
    # Once re-encrypted, the old key is no longer needed.
    assert FieldCipher(new_key).decrypt(fresh, purpose="p") == "text written last year"


def test_unknown_key_says_which_key_id_is_missing() -> None:
    old_key = os.urandom(32)
    blob = FieldCipher(old_key).encrypt("x", purpose="p")
    with pytest.raises(DecryptionError, match=key_id(old_key).hex()) as info:
        FieldCipher(os.urandom(32)).decrypt(blob, purpose="p")
    assert "REDFLAG_OLD_DATA_KEYS" in str(info.value)


def test_not_a_ciphertext() -> None:
    with pytest.raises(DecryptionError, match="not a redflag ciphertext"):
        FieldCipher(os.urandom(32)).decrypt(b"plain", purpose="p")


def test_blind_index_is_deterministic_keyed_and_separated_by_kind() -> None:
    key = os.urandom(32)
    index = BlindIndex(key)
    assert index.digest("phone", "+61491570156") == BlindIndex(key).digest("phone", "+61491570156")
    assert index.digest("phone", "+61491570156") != BlindIndex(os.urandom(32)).digest(
        "phone", "+61491570156"
    )
    assert index.digest("phone", "abc") != index.digest("handle", "abc")
    assert b"61491570156" not in index.digest("phone", "+61491570156")
