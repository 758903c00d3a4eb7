"""Test support for identity: keys, a threaded HTTP server, a small host app, a browser-less driver."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, g, jsonify, redirect
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from identity import Audience, IdentitySettings, SamlSp, VerifiedSubject
from identity.flask import (
    create_identity_blueprint,
    current_actor,
    current_session,
    login_required,
    require,
    return_to,
)
from identity.roles import Action

HUB = "https://hub.test"
SECRET_KEY = b"identity-tests-secret-key-32bytes"


@dataclass(frozen=True)
class KeyPair:
    key_pem: str
    cert_pem: str
    key_file: Path
    cert_file: Path


def make_key_pair(directory: Path, name: str) -> KeyPair:
    """Generate an RSA key and a self-signed certificate (test-only, never committed)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_text(key_pem)
    cert_file.write_text(cert_pem)
    return KeyPair(key_pem, cert_pem, key_file, cert_file)


def sp_settings(keys: KeyPair) -> SamlSp:
    """Our SP as the hub would configure it, with test keys."""
    return SamlSp(
        entity_id=f"{HUB}/identity/saml/metadata", certificate=keys.cert_pem, private_key=keys.key_pem
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: Callable, port: int) -> Iterator[str]:
    """Run a WSGI app on 127.0.0.1 in a thread; yield its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def make_host_app(settings: IdentitySettings, engine, *, csrf: bool = False) -> Flask:
    """A tiny stand-in for the hub: one transaction per request, committed in one place."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", TESTING=True)
    Babel(app)
    if csrf:
        CSRFProtect(app)

    def session_factory() -> Session:
        if "db" not in g:
            g.db = Session(engine)
        return g.db

    @app.teardown_request
    def finish(error: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is None:
            return
        if error is None:
            db.commit()
        else:
            db.rollback()
        db.close()

    def on_login(subject: VerifiedSubject):
        return redirect(return_to() or ("/staff" if subject.audience is Audience.STAFF else "/me"), code=303)

    app.register_blueprint(
        create_identity_blueprint(settings, session_factory, on_login), url_prefix="/identity"
    )

    @app.get("/clinic/<clinic_id>/admin")
    def clinic_admin(clinic_id: str):
        require(Action.MANAGE_CLINIC, clinic_id)
        return "ok"

    @app.get("/book")
    @login_required
    def book():
        require(Action.BOOK_FOR_SELF)
        return "ok"

    @app.get("/me")
    def me():
        active = current_session()
        if active is None:
            return jsonify(error="anonymous"), 401
        actor = current_actor()
        subject = active.subject
        return jsonify(
            personal_number=subject.personal_number,
            given_name=subject.given_name,
            family_name=subject.family_name,
            display_name=subject.display_name,
            loa=subject.loa,
            idp=subject.idp,
            audience=subject.audience.value,
            birth_date=subject.birth_date.isoformat() if subject.birth_date else None,
            grants=sorted(f"{role.value}:{clinic}" for role, clinic in actor.grants) if actor else [],
        )

    return app


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.I)
_INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)


def parse_post_form(html: str) -> tuple[str, dict[str, str]]:
    """Read an auto-POST form (SAML HTTP-POST binding): its action and hidden fields."""
    action = _FORM_ACTION.search(html)
    assert action, "no form in the IdP answer"
    fields = {name: unescape(value) for name, value in _INPUT.findall(html)}
    return unescape(action.group(1)), fields


def local_path(url: str) -> str:
    """Turn an absolute hub URL into the path + query the Flask test client wants."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == HUB, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow_until_hub(browser: requests.Session, url: str, limit: int = 15) -> str:
    """Follow redirects at a provider until one points back to the hub; return that URL."""
    for _ in range(limit):
        if url.startswith(HUB):
            return url
        with browser.get(url, allow_redirects=False, timeout=10) as response:
            pass
        assert response.status_code in {302, 303}, (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("too many redirects")


def hub_client(app: Flask):
    """A test client that looks like https://hub.test to the app (Secure cookies included)."""
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "hub.test"})
    return client


class FakeClock:
    """A settable clock for IdentitySettings.clock (starts at the real now, moves only when told)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
