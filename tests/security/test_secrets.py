from __future__ import annotations

import base64
import copy
import logging
import pickle

import pytest

from alertstream.secrets import (
    ENV_VAR,
    KEY_BYTES,
    DecryptError,
    Keyring,
    Secret,
    generate_key,
    keyring_from_env,
)

K1 = base64.b64encode(b"\x01" * 32).decode()
K2 = base64.urlsafe_b64encode(b"\xfe" * 32).decode()
AAD = b"channel:42:token"


def test_secret_never_prints() -> None:
    secret = Secret("hunter2")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert "hunter2" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2"


def test_secret_equality_copy_and_pickle() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("é") == Secret("é")
    assert Secret(b"x") == Secret(b"x")
    assert Secret("a") != "a"
    secret = Secret("v")
    assert copy.deepcopy({"s": secret})["s"] is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_generate_key_is_32_bytes_and_usable() -> None:
    key = generate_key()
    assert len(base64.urlsafe_b64decode(key)) == KEY_BYTES
    assert generate_key() != key
    ring = Keyring.parse(f"k1:{key}")
    assert ring.decrypt(ring.encrypt(b"x", AAD), AAD) == b"x"


def test_round_trip_and_token_shape() -> None:
    ring = Keyring.parse(f"k1:{K1}")
    token = ring.encrypt(b"xoxb-secret", AAD)
    assert b"xoxb-secret" not in token
    assert ring.key_id(token) == "k1"
    assert ring.decrypt(token, AAD) == b"xoxb-secret"
    assert ring.encrypt(b"xoxb-secret", AAD) != token  # fresh nonce each time


def test_rotation() -> None:
    old = Keyring.parse(f"k1:{K1}")
    new = Keyring.parse(f" k2:{K2} , k1:{K1} ")
    assert new.primary == "k2"
    assert new.key_ids == ("k2", "k1")
    legacy = old.encrypt(b"payload", AAD)
    assert new.decrypt(legacy, AAD) == b"payload"  # old key still decrypts
    assert new.needs_rotation(legacy)
    fresh = new.encrypt(b"payload", AAD)  # newest key encrypts
    assert new.key_id(fresh) == "k2"
    assert not new.needs_rotation(fresh)
    rotated = new.rotate(legacy, AAD)
    assert new.key_id(rotated) == "k2" and new.decrypt(rotated, AAD) == b"payload"
    assert new.rotate(fresh, AAD) is fresh
    with pytest.raises(DecryptError, match="'k2'"):
        old.decrypt(fresh, AAD)  # a ring without k2


def test_tampering_fails() -> None:
    ring = Keyring.parse(f"k2:{K2},k1:{K1}")
    token = ring.encrypt(b"payload", AAD)
    for index in (len(token) - 1, len(token) - 20, 2 + 2 + 1):  # tag, ciphertext, nonce
        bad = bytearray(token)
        bad[index] ^= 0x01
        with pytest.raises(DecryptError, match="authentication"):
            ring.decrypt(bytes(bad), AAD)
    with pytest.raises(DecryptError, match="authentication"):
        ring.decrypt(token, b"channel:43:token")  # moved to another row
    relabelled = token.replace(b"k2", b"k1", 1)  # header is authenticated too
    with pytest.raises(DecryptError, match="authentication"):
        ring.decrypt(relabelled, AAD)
    for junk in (b"", b"\x02\x02k1" + bytes(40), b"\x01\x02k1short", b"\x01\x00" + bytes(40)):
        with pytest.raises(DecryptError, match="not a keyring token"):
            ring.decrypt(junk, AAD)


def test_repr_hides_key_material() -> None:
    ring = Keyring.parse(f"k1:{K1}")
    assert repr(ring) == "Keyring(key_ids=['k1'])"
    assert K1 not in repr(ring)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no keys"),
        ("just-a-key", "entry 1 must look like 'kid:base64key'"),
        (f"k1:{K1},:abc", "entry 2 must look like"),
        ("k1:not base64!!", "key 'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"x" * 16).decode(), "decodes to 16 bytes; 32 are required"),
        (f"k1:{K1},k1:{K2}", "'k1' appears twice"),
        (f"bad kid:{K1}", "must be 1-32 characters"),
    ],
)
def test_malformed_keys(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Keyring.parse(spec)
    assert ENV_VAR in str(info.value)
    assert "not base64!!" not in str(info.value) and K2 not in str(info.value)


def test_unpadded_base64_is_accepted() -> None:
    ring = Keyring.parse(f"k1:{K1.rstrip('=')}")
    assert ring.decrypt(Keyring.parse(f"k1:{K1}").encrypt(b"x", b""), b"") == b"x"


def test_from_env(caplog: pytest.LogCaptureFixture) -> None:
    assert keyring_from_env({ENV_VAR: f"k1:{K1}"}).primary == "k1"
    with pytest.raises(ValueError, match=f"{ENV_VAR} is not set"):
        keyring_from_env({})
    with pytest.raises(ValueError, match=f"{ENV_VAR} is not set"):
        keyring_from_env({ENV_VAR: "  "})
    with caplog.at_level(logging.WARNING):
        dev = keyring_from_env({}, dev=True)
    assert dev.primary == "dev" and "throwaway" in caplog.text
    with pytest.raises(ValueError, match="not valid base64"):
        keyring_from_env({ENV_VAR: "k1:???"}, dev=True)  # a set but broken key is never ignored
