"""Citizens as the hub stores them: a keyed hash to find them, their identity sealed at rest."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_adapters import Subject
from clinic_adapters.timezones import utc_now
from hub.models import Citizen


@dataclass(frozen=True, slots=True)
class Identity:
    """Who logged in, as the identity provider vouched for it."""

    personal_number: str  # 12 digits
    given_name: str
    family_name: str

    def __repr__(self) -> str:  # never print the personal number
        return "Identity(<sealed>)"


def _derive(purpose: bytes) -> bytes:
    secret = (current_app.config.get("DATA_KEY") or current_app.config["SECRET_KEY"]).encode()
    return _derived_key(secret, purpose)


@functools.lru_cache(maxsize=32)
def _derived_key(secret: bytes, purpose: bytes) -> bytes:
    """HKDF is deterministic: derive each (secret, purpose) key once per process."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def lookup_key(personal_number: str) -> str:
    """Return the keyed hash that finds a citizen without storing the number in the clear."""
    return hmac.new(_derive(b"hub citizen lookup"), personal_number.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    return _fernet_for(_derive(b"hub citizen identity"))


@functools.lru_cache(maxsize=32)
def _fernet_for(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


def seal(identity: Identity) -> str:
    payload = json.dumps(
        {"pnr": identity.personal_number, "given": identity.given_name, "family": identity.family_name}
    )
    return _fernet().encrypt(payload.encode()).decode()


def unseal(citizen: Citizen) -> Identity:
    data = json.loads(_fernet().decrypt(citizen.sealed_identity.encode()))
    return Identity(personal_number=data["pnr"], given_name=data["given"], family_name=data["family"])


def citizen_for_login(db: Session, identity: Identity) -> Citizen:
    """Find or create the citizen who just logged in, refreshing the sealed names."""
    key = lookup_key(identity.personal_number)
    citizen = db.scalar(select(Citizen).where(Citizen.lookup_key == key))
    if citizen is None:
        citizen = Citizen(lookup_key=key, sealed_identity=seal(identity))
        db.add(citizen)
    else:
        citizen.sealed_identity = seal(identity)
    citizen.last_login_at = utc_now()
    db.flush()
    return citizen


def subject_of(citizen: Citizen) -> Subject:
    """Return what a timebook may be told about the citizen."""
    identity = unseal(citizen)
    return Subject(
        ref=citizen.id,
        personal_number=identity.personal_number,
        given_name=identity.given_name,
        family_name=identity.family_name,
    )
