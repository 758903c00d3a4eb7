"""Seal contact details and rendered messages at rest, with a key of their own."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet() -> Fernet:
    # Same secret as the citizens' identities, another purpose: a leak of one key opens neither.
    secret = (current_app.config.get("DATA_KEY") or current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub notifications").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    return json.loads(_fernet().decrypt(token.encode()))
