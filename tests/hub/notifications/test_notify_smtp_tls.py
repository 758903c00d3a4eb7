"""STARTTLS and login against a real SMTP server on 127.0.0.1 that insists on both."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from notify_helpers import MailBox, free_port

from hub.notifications.channels import Outgoing, TemporaryFailure
from hub.notifications.channels.smtp import SmtpSender, SmtpSettings


@pytest.fixture
def certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test relay")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def strict_relay(certificate):
    cert_file, key_file = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    box = MailBox()

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"hub",
            b"relay-secret",
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller.port, box, cert_file
    finally:
        controller.stop()


MESSAGE = Outgoing(message_id="m-1@notifications.hub", to="anna@example.se", subject="Hej", text="Din tid")


def test_mail_goes_over_starttls_with_login(strict_relay) -> None:
    port, box, ca_file = strict_relay
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        sender="bokning@region.example",
        starttls=True,
        username="hub",
        password="relay-secret",
        ca_file=ca_file,
        timeout=5,
    )
    SmtpSender(settings).send(MESSAGE)
    (mail,) = box.messages
    assert mail["Message-ID"] == "<m-1@notifications.hub>"


def test_wrong_password_or_no_tls_keeps_the_mail_for_later(strict_relay) -> None:
    port, box, ca_file = strict_relay
    wrong = SmtpSettings(
        host="127.0.0.1",
        port=port,
        sender="b@region.example",
        starttls=True,
        username="hub",
        password="wrong",
        ca_file=ca_file,
        timeout=5,
    )
    plain = SmtpSettings(host="127.0.0.1", port=port, sender="b@region.example", timeout=5)
    for settings in (wrong, plain):
        with pytest.raises(TemporaryFailure):
            SmtpSender(settings).send(MESSAGE)
    assert box.messages == []
