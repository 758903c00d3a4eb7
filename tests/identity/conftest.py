"""Fixtures for the identity suite: databases, keys, a real SAML IdP and a real OpenID provider."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from idtest_saml_idp import SamlTestIdp
from idtest_support import (
    HUB,
    SECRET_KEY,
    KeyPair,
    free_port,
    make_host_app,
    make_key_pair,
    serve,
    sp_settings,
)
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import Engine

from identity.models import Base
from identity.settings import IdentitySettings, OidcProvider
from identity.subject import Audience

OP_DIR = Path(__file__).parent / "op"

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("HUB_TEST_DATABASE_URL") else [])


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine | None]:
    """One PostgreSQL schema of our own for the session, dropped afterwards."""
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    schema = f"identity_test_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A clean database with identity's tables: SQLite in tmp, and PostgreSQL when configured."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'identity.db'}")
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    _clear(engine)
    yield engine
    _clear(engine)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: for the provider round trips, whose database part the store tests cover on both."""
    engine = create_engine(f"sqlite:///{tmp_path / 'identity.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("identity-keys")


@pytest.fixture(scope="session")
def sp_keys(key_dir: Path) -> KeyPair:
    return make_key_pair(key_dir, "sp")


@pytest.fixture(scope="session")
def idp_keys(key_dir: Path) -> KeyPair:
    return make_key_pair(key_dir, "idp")


@pytest.fixture(scope="session")
def staff_idp_keys(key_dir: Path) -> KeyPair:
    return make_key_pair(key_dir, "staff-idp")


@pytest.fixture(scope="session")
def saml_idps(idp_keys: KeyPair, staff_idp_keys: KeyPair) -> Iterator[dict[str, SamlTestIdp]]:
    """Two real IdPs (a citizen "bankid" and a staff IdP), each on its own port."""
    if not shutil.which("xmlsec1"):
        pytest.fail("xmlsec1 missing: apt-get install -y xmlsec1")
    port, staff_port = free_port(), free_port()
    citizen = SamlTestIdp("bankid", f"http://127.0.0.1:{port}", idp_keys)
    staff = SamlTestIdp("staff-saml", f"http://127.0.0.1:{staff_port}", staff_idp_keys, Audience.STAFF)
    with serve(citizen.app, port), serve(staff.app, staff_port):
        yield {"bankid": citizen, "staff-saml": staff}


@pytest.fixture
def saml_settings(saml_idps: dict[str, SamlTestIdp], sp_keys: KeyPair) -> IdentitySettings:
    return IdentitySettings(
        public_url=f"{HUB}/identity",
        secret_key=SECRET_KEY,
        sp=sp_settings(sp_keys),
        saml_idps=tuple(idp.sp_settings() for idp in saml_idps.values()),
    )


@pytest.fixture
def saml_app(saml_settings: IdentitySettings, saml_idps: dict[str, SamlTestIdp], sqlite_engine: Engine):
    """The host app with our SP; each IdP loads the SP metadata our endpoint publishes."""
    app = make_host_app(saml_settings, sqlite_engine)
    metadata = app.test_client().get("/identity/saml/metadata").get_data(as_text=True)
    for idp in saml_idps.values():
        idp.load_sp_metadata(metadata)
    app.config["ENGINE"] = sqlite_engine
    return app


# --- OpenID provider (npm oidc-provider) ---------------------------------------------------

OP_CLIENT_ID = "hub"
OP_CLIENT_SECRET = "hub-secret-for-tests-only-0123456789"


class OpControl:
    """Control of the running oidc-provider: who logs in next, how the next id_token is altered."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def next_login(self, account: str, acr: str) -> None:
        requests.post(f"{self.issuer}/test/next-login", json={"accountId": account, "acr": acr}, timeout=5)

    def tamper_next_id_token(self, **claims: object) -> None:
        requests.post(f"{self.issuer}/test/tamper", json=claims, timeout=5).raise_for_status()


OP_ACCOUNTS = {
    "adult": {
        "pid": "19800101-0019",
        "given_name": "Astrid",
        "family_name": "Andersson",
        "name": "Astrid Andersson",
    },
    "child": {"pid": "20150101-0001", "given_name": "Kim", "family_name": "Karlsson", "name": "Kim Karlsson"},
    "broken": {"pid": "19800101-0018", "given_name": "Bo", "family_name": "Berg", "name": "Bo Berg"},
}


@pytest.fixture(scope="session")
def oidc_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpControl]:
    """Start npm oidc-provider 9 on 127.0.0.1 (needs `npm ci` in tests/identity/op)."""
    node = shutil.which("node")
    if node is None or not (OP_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("OpenID provider not installed: run `npm ci --prefix tests/identity/op`")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "issuer": issuer,
        "clients": [
            {
                "client_id": OP_CLIENT_ID,
                "client_secret": OP_CLIENT_SECRET,
                "redirect_uris": [f"{HUB}/identity/oidc/callback"],
                "post_logout_redirect_uris": [f"{HUB}/identity/logged-out"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }
        ],
        "accounts": OP_ACCOUNTS,
    }
    log_path = tmp_path_factory.mktemp("oidc-provider") / "op.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [node, str(OP_DIR / "op.mjs"), json.dumps(config)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"oidc-provider did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield OpControl(issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log_file.close()


@pytest.fixture
def oidc_settings(oidc_op: OpControl) -> IdentitySettings:
    return IdentitySettings(
        public_url=f"{HUB}/identity",
        secret_key=SECRET_KEY,
        oidc_providers=(
            OidcProvider(
                key="idporten",
                label="ID-porten (test)",
                issuer=oidc_op.issuer,
                client_id=OP_CLIENT_ID,
                client_secret=OP_CLIENT_SECRET,
                scopes=("openid", "profile"),
                personal_number_claim="pid",
            ),
        ),
        oidc_leeway_seconds=5,  # same machine; the expired-token test is minutes past
    )


@pytest.fixture
def oidc_app(oidc_settings: IdentitySettings, sqlite_engine: Engine):
    app = make_host_app(oidc_settings, sqlite_engine)
    app.config["ENGINE"] = sqlite_engine
    return app
