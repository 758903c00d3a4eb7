"""Settings for e-ID login: plain frozen dataclasses the hub builds from its own configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from identity import assurance
from identity.subject import Audience

# Sweden Connect attribute names (urn:oid form, NameFormat uri).
SWEDEN_CONNECT_ATTRIBUTES: Mapping[str, str] = MappingProxyType(
    {
        "personal_number": "urn:oid:1.2.752.29.4.13",
        "given_name": "urn:oid:2.5.4.42",
        "family_name": "urn:oid:2.5.4.4",
        "display_name": "urn:oid:2.16.840.1.113730.3.1.241",
    }
)


def utc_now() -> datetime:
    """Return the current instant, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SamlIdp:
    """One SAML identity provider (e.g. a BankID or Freja IdP in Sweden Connect)."""

    key: str
    label: str
    entity_id: str
    sso_url: str
    certificates: tuple[str, ...]
    slo_url: str | None = None
    audience: Audience = Audience.CITIZEN
    attributes: Mapping[str, str] = field(default_factory=lambda: SWEDEN_CONNECT_ATTRIBUTES)
    # Exact URIs to request; empty means every known SAML URI at or above the minimum.
    authn_contexts: tuple[str, ...] = ()
    want_messages_signed: bool = True
    # Sweden Connect IdPs encrypt assertions to the SP's key; then an unencrypted one is refused.
    want_assertions_encrypted: bool = False
    # Countries whose numbers this IdP vouches for; empty: the global setting.
    personal_number_countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class SamlSp:
    """Our SAML service provider: entity id and the key pair that signs requests."""

    entity_id: str
    certificate: str
    private_key: str
    organisation_name: str = "Regional booking hub"
    organisation_url: str = ""
    technical_contact_email: str = ""


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID provider (e.g. ID-porten); the personal number claim name is configurable."""

    key: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    audience: Audience = Audience.CITIZEN
    scopes: tuple[str, ...] = ("openid", "profile")
    personal_number_claim: str = "pid"
    given_name_claim: str = "given_name"
    family_name_claim: str = "family_name"
    display_name_claim: str = "name"
    # Exact acr values to request and accept; empty means every known value at or above the minimum.
    acr_values: tuple[str, ...] = ()
    discovery_url: str | None = None
    # "client_secret_basic" or "client_secret_post" (private_key_jwt is not supported yet).
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name
    # Countries whose numbers this provider vouches for (ID-porten: ("no",)); empty: the global setting.
    personal_number_countries: tuple[str, ...] = ()

    @property
    def metadata_url(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class IdentitySettings:
    """Everything identity needs; nothing is read from the environment.

    ``public_url`` is the externally visible URL of the identity blueprint (e.g.
    ``https://hub.example/identity``); ACS, SLO and redirect URIs derive from it, and responses
    are compared with it exactly, so it must be right behind a proxy.
    """

    public_url: str
    # The identity secret (at least 16 bytes; e.g. the hub's DATA_KEY): pseudonyms of personal
    # numbers (role grants, sessions) and the sealing of session data derive from it. Changing it
    # ends every session and orphans every role grant.
    secret_key: bytes
    sp: SamlSp | None = None
    saml_idps: tuple[SamlIdp, ...] = ()
    oidc_providers: tuple[OidcProvider, ...] = ()
    minimum_loa: str = assurance.LOA3
    # Minimum age for citizens' self-service; 0 lets everyone with an e-ID in.
    minimum_age: int = 0
    personal_number_countries: tuple[str, ...] = ("se",)
    idle_timeout: timedelta = timedelta(minutes=15)
    absolute_timeout: timedelta = timedelta(hours=8)
    login_request_ttl: timedelta = timedelta(minutes=10)
    cookie_secure: bool = True
    post_logout_url: str = "/"
    oidc_leeway_seconds: int = 30
    http_timeout_seconds: float = 10.0
    clock: Callable[[], datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        assurance.minimum_level(self.minimum_loa)  # fail fast on an unknown URI
        keys = [idp.key for idp in self.saml_idps] + [op.key for op in self.oidc_providers]
        if len(keys) != len(set(keys)):
            raise ValueError("identity provider keys must be unique")
        if self.saml_idps and self.sp is None:
            raise ValueError("SAML identity providers need the SP settings")
        if len(self.secret_key) < 16:
            raise ValueError("secret_key must be at least 16 bytes")
        if urlsplit(self.public_url).scheme not in {"http", "https"}:
            raise ValueError("public_url must be an absolute http(s) URL")

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def acs_url(self) -> str:
        return self.base + "/saml/acs"

    @property
    def slo_url(self) -> str:
        return self.base + "/saml/slo"

    @property
    def metadata_url(self) -> str:
        return self.base + "/saml/metadata"

    @property
    def oidc_redirect_uri(self) -> str:
        return self.base + "/oidc/callback"

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix pins the cookie to our host, path / and Secure.
        return "__Host-identity_session" if self.cookie_secure else "identity_session"

    @property
    def flow_cookie_name(self) -> str:
        return "__Host-identity_flow" if self.cookie_secure else "identity_flow"

    def saml_idp(self, key: str) -> SamlIdp | None:
        return next((idp for idp in self.saml_idps if idp.key == key), None)

    def oidc_provider(self, key: str) -> OidcProvider | None:
        return next((op for op in self.oidc_providers if op.key == key), None)


# --- building settings from plain configuration ---------------------------------------------

_DURATIONS = {
    "idle_timeout_minutes": "idle_timeout",
    "absolute_timeout_minutes": "absolute_timeout",
    "login_request_ttl_minutes": "login_request_ttl",
}


def settings_from_mapping(data: Mapping[str, Any], **overrides: Any) -> IdentitySettings:
    """Build IdentitySettings from plain data (e.g. the hub's TOML/JSON config); unknown keys fail.

    Lists become tuples, ``*_minutes`` become timedeltas, strings become bytes for the secret,
    each IdP may be given as ``{"metadata": "<EntityDescriptor ...>", "key": ..., "label": ...}``.
    """
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in _DURATIONS:
            values[_DURATIONS[name]] = timedelta(minutes=float(value))
        elif name == "secret_key":
            values[name] = value.encode() if isinstance(value, str) else bytes(value)
        elif name == "sp":
            values[name] = SamlSp(**value)
        elif name == "saml_idps":
            values[name] = tuple(_saml_idp(entry) for entry in value)
        elif name == "oidc_providers":
            values[name] = tuple(_oidc_provider(entry) for entry in value)
        elif name == "personal_number_countries":
            values[name] = tuple(value)
        elif name in _PLAIN_FIELDS:
            values[name] = value
        else:
            raise ValueError(f"unknown identity setting: {name}")
    values.update(overrides)
    return IdentitySettings(**values)


_PLAIN_FIELDS = {
    "public_url",
    "minimum_loa",
    "minimum_age",
    "cookie_secure",
    "post_logout_url",
    "oidc_leeway_seconds",
    "http_timeout_seconds",
}


def _saml_idp(entry: Mapping[str, Any]) -> SamlIdp:
    entry = dict(entry)
    metadata = entry.pop("metadata", None)
    for name in ("certificates", "authn_contexts", "personal_number_countries"):
        if name in entry:
            entry[name] = tuple(entry[name])
    if "audience" in entry:
        entry["audience"] = Audience(entry["audience"])
    if metadata is not None:
        return saml_idp_from_metadata(metadata, **entry)
    return SamlIdp(**entry)


def _oidc_provider(entry: Mapping[str, Any]) -> OidcProvider:
    entry = dict(entry)
    for name in ("scopes", "acr_values", "personal_number_countries"):
        if name in entry:
            entry[name] = tuple(entry[name])
    if "audience" in entry:
        entry["audience"] = Audience(entry["audience"])
    return OidcProvider(**entry)


def saml_idp_from_metadata(
    metadata: str, *, key: str, label: str, entity_id: str | None = None, **overrides: Any
) -> SamlIdp:
    """Read an IdP's entity id, endpoints (HTTP-Redirect) and signing certificates from its metadata.

    The metadata's own signature is not checked here: load it from a trusted source (for a
    federation, a copy whose signature the operator verified).
    """
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    parsed = OneLogin_Saml2_IdPMetadataParser.parse(metadata, entity_id=entity_id)
    idp = parsed.get("idp")
    if not idp or "singleSignOnService" not in idp:
        raise ValueError("no IdP with an HTTP-Redirect single sign-on service in the metadata")
    certificates = idp.get("x509certMulti", {}).get("signing") or [idp.get("x509cert")]
    pem = tuple(_pem(cert) for cert in certificates if cert)
    if not pem:
        raise ValueError("no signing certificate in the IdP metadata")
    return SamlIdp(
        key=key,
        label=label,
        entity_id=idp["entityId"],
        sso_url=idp["singleSignOnService"]["url"],
        slo_url=idp.get("singleLogoutService", {}).get("url"),
        certificates=pem,
        **overrides,
    )


def _pem(body: str) -> str:
    body = "".join(body.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
