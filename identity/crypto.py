"""Keys derived from the one identity secret: pseudonyms for people, sealing for session data.

Personal numbers and names rest in the database only sealed (Fernet), the same way the hub
keeps its citizens; lookups go through a keyed hash.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity.personal_numbers import pseudonymise

__all__ = ["InvalidToken", "seal", "seal_key_id", "subject_key", "unseal"]


@functools.lru_cache(maxsize=32)  # HKDF per request cost half of reading a session
def derive(secret: bytes, purpose: bytes) -> bytes:
    """Derive a 32-byte key for one purpose, so one leaked use does not expose the others."""
    if len(secret) < 16:
        raise ValueError("the identity secret must be at least 16 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def subject_key(secret: bytes, personal_number: str) -> str:
    """Return the pseudonymous key of a person (canonical personal number) for grants and sessions."""
    return pseudonymise(personal_number, derive(secret, b"identity pseudonym"))


@functools.lru_cache(maxsize=32)
def seal_key_id(secret: bytes) -> str:
    """A short public name of the key ``seal`` uses under ``secret``: tells which secret sealed a
    row without unsealing it (the secret is rotated to end every session)."""
    return derive(secret, b"identity seal key id").hex()[:16]


@functools.lru_cache(maxsize=32)
def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive(secret, b"identity session")))


def seal(secret: bytes, data: dict[str, Any]) -> str:
    """Encrypt and authenticate a JSON-able mapping."""
    return _fernet(secret).encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def unseal(secret: bytes, token: str) -> dict[str, Any]:
    """Decrypt what ``seal`` produced; raises InvalidToken when tampered or under another key."""
    return json.loads(_fernet(secret).decrypt(token.encode()))
