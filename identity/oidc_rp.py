"""OpenID Connect relying party: authorization code + PKCE with Authlib, checks made explicit.

Authlib's Flask client keeps state in the cookie session and checks ``iss``/``aud`` only when
asked; here state, nonce and the PKCE verifier live server-side (single use, bound to the
browser), and every claim check is spelled out (see PITFALLS.md, OIDC).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy.orm import Session

from identity import assurance, store
from identity.errors import LoginRefused, Reason
from identity.personal_numbers import InvalidPersonalNumber, parse, redact
from identity.settings import IdentitySettings, OidcProvider
from identity.subject import VerifiedSubject

log = logging.getLogger(__name__)

PROTOCOL = "oidc"
# Asymmetric algorithms only: an OP's "none" or HS256 with the client secret is refused.
SIGNING_ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
METADATA_TTL_SECONDS = 3600


@dataclass(frozen=True)
class OidcLogin:
    """A verified OIDC login: the subject and the id_token kept as logout hint."""

    subject: VerifiedSubject
    sub: str
    id_token: str
    # What the caller kept with the request (where to go next, the session to replace).
    context: dict[str, Any]


class RelyingParty:
    """Our RP towards one OpenID provider."""

    def __init__(self, settings: IdentitySettings, provider: OidcProvider) -> None:
        self.settings = settings
        self.provider = provider
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    @property
    def acr_values(self) -> list[str]:
        """Exact acr values we ask for and accept (all at or above the minimum)."""
        candidates = self.provider.acr_values or tuple(assurance.LEVELS)
        return assurance.acceptable(self.settings.minimum_loa, candidates)

    # --- discovery ----------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """Fetch (and cache) the OP's discovery document; its issuer must equal the configured one."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
                data = self._get_json(self.provider.metadata_url)
                if data.get("issuer") != self.provider.issuer:
                    raise LoginRefused(Reason.ISSUER, "discovery issuer differs from the configured issuer")
                self._metadata, self._metadata_at, self._keys = data, time.monotonic(), None
            return self._metadata

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))
        return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.settings.http_timeout_seconds)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise LoginRefused(
                Reason.PROVIDER_ERROR, f"{type(error).__name__} fetching provider data"
            ) from None

    def _client(self) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.provider.client_id,
            client_secret=self.provider.client_secret,
            scope=" ".join(self.provider.scopes),
            redirect_uri=self.settings.oidc_redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.provider.token_endpoint_auth_method,
        )

    # --- login --------------------------------------------------------------------------

    def begin_login(self, db: Session, *, browser: str, context: dict[str, Any]) -> str:
        """Remember state, nonce and PKCE verifier server-side; return the authorization URL."""
        metadata = self.metadata()
        state, nonce, verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(48),
        )
        with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                nonce=nonce,
                code_verifier=verifier,
                acr_values=" ".join(self.acr_values),
            )
        now = self.settings.clock()
        store.remember_request(
            db,
            request_id=state,
            protocol=PROTOCOL,
            idp=self.provider.key,
            browser=browser,
            payload={"nonce": nonce, "code_verifier": verifier, "context": context},
            now=now,
            expires_at=now + self.settings.login_request_ttl,
        )
        return url

    def complete_login(self, db: Session, args: Mapping[str, str], *, browser: str | None) -> OidcLogin:
        """Handle the callback: state, iss parameter, code exchange, id_token and userinfo checks."""
        state = args.get("state")
        if not state:
            raise LoginRefused(Reason.STATE, "callback without state")
        now = self.settings.clock()
        try:
            pending = store.consume_request(db, request_id=state, protocol=PROTOCOL, browser=browser, now=now)
        except LoginRefused as refused:
            raise LoginRefused(Reason.STATE, refused.detail) from None
        if pending.idp != self.provider.key:
            raise LoginRefused(Reason.STATE, "state belongs to another provider")
        metadata = self.metadata()
        self._check_iss_parameter(args, metadata)
        if "error" in args:
            raise LoginRefused(Reason.PROVIDER_ERROR, f"provider answered {args.get('error')!s:.64}")
        code = args.get("code")
        if not code:
            raise LoginRefused(Reason.MALFORMED, "callback without code")

        with self._client() as client:
            try:
                token = client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.payload["code_verifier"],
                    timeout=self.settings.http_timeout_seconds,
                )
            except Exception as error:  # Authlib raises OAuthError, requests its own, both mean "no token"
                raise LoginRefused(Reason.TOKEN, f"token request failed: {type(error).__name__}") from None
            id_token = token.get("id_token")
            if not id_token:
                # Authlib would silently skip every ID-token check here.
                raise LoginRefused(Reason.TOKEN, "token response without id_token")
            # Read the clock after the exchange: the token's iat may be later than our start.
            claims = self._validate_id_token(
                id_token, token.get("access_token"), pending.payload["nonce"], self.settings.clock()
            )
            userinfo = self._userinfo(client, metadata, claims["sub"])

        merged = {**userinfo, **claims}
        subject = self._subject(merged, claims["acr"])
        return OidcLogin(subject, claims["sub"], id_token, pending.payload.get("context") or {})

    def _check_iss_parameter(self, args: Mapping[str, str], metadata: Mapping[str, Any]) -> None:
        # RFC 9207 mix-up defence; Authlib does not look at it.
        iss = args.get("iss")
        if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
            raise LoginRefused(Reason.ISSUER, "callback without the iss parameter")
        if iss is not None and iss != self.provider.issuer:
            raise LoginRefused(Reason.ISSUER, "callback iss parameter is another issuer")

    def _validate_id_token(
        self, id_token: str, access_token: str | None, nonce: str, now: Any
    ) -> dict[str, Any]:
        registry = JWSRegistry(algorithms=SIGNING_ALGORITHMS)
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, self._key_set(refresh=True), registry=registry)
        except (JoseError, ValueError) as error:
            raise LoginRefused(Reason.SIGNATURE, f"id_token signature: {type(error).__name__}") from None

        options = {
            "iss": {"essential": True, "value": self.provider.issuer},
            "aud": {"essential": True, "value": self.provider.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True},
            "acr": {"essential": True, "values": self.acr_values},
        }
        params = {"nonce": nonce, "client_id": self.provider.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(now=int(now.timestamp()), leeway=self.settings.oidc_leeway_seconds)
        except JoseError as error:
            raise LoginRefused(_claim_reason(error), redact(f"id_token: {error}")) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.provider.client_id:
            raise LoginRefused(Reason.AUDIENCE, "several audiences and azp is not us")
        if not assurance.meets(claims.get("acr"), self.settings.minimum_loa):
            raise LoginRefused(Reason.LOA_TOO_LOW, "acr below the minimum")
        return dict(claims)

    def _userinfo(self, client: OAuth2Session, metadata: Mapping[str, Any], sub: str) -> dict[str, Any]:
        endpoint = metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        try:
            response = client.get(endpoint, timeout=self.settings.http_timeout_seconds)
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as error:
            raise LoginRefused(Reason.PROVIDER_ERROR, f"userinfo: {type(error).__name__}") from None
        # Authlib does not compare them; a userinfo of another person must not slip in.
        if data.get("sub") != sub:
            raise LoginRefused(Reason.SUBJECT_MISMATCH, "userinfo sub differs from the id_token sub")
        return data

    def _subject(self, claims: Mapping[str, Any], acr: str) -> VerifiedSubject:
        raw = claims.get(self.provider.personal_number_claim)
        if not raw or not isinstance(raw, str):
            raise LoginRefused(Reason.MISSING_ATTRIBUTE, "no personal identity number claim")
        try:
            countries = self.provider.personal_number_countries or self.settings.personal_number_countries
            number = parse(raw, countries, today=self.settings.clock().date())
        except InvalidPersonalNumber:
            raise LoginRefused(Reason.INVALID_PERSONAL_NUMBER, "claim is not a valid number") from None

        def text(name: str) -> str | None:
            value = claims.get(name)
            return value if isinstance(value, str) else None

        return VerifiedSubject(
            personal_number=number.value,
            given_name=text(self.provider.given_name_claim),
            family_name=text(self.provider.family_name_claim),
            display_name=text(self.provider.display_name_claim),
            loa=acr,
            idp=self.provider.key,
            birth_date=number.birth_date,
            country=number.country.value,
            audience=self.provider.audience,
        )

    # --- logout -------------------------------------------------------------------------

    def logout_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """Return the OP's end-session URL for RP-initiated logout, when the OP has one."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except LoginRefused:
            return None
        if not endpoint:
            return None
        request = requests.Request(
            "GET",
            endpoint,
            params={
                "id_token_hint": id_token,
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "client_id": self.provider.client_id,
            },
        ).prepare()
        return request.url


_CLAIM_REASONS = {
    "nonce": Reason.NONCE,
    "aud": Reason.AUDIENCE,
    "iss": Reason.ISSUER,
    "acr": Reason.LOA_TOO_LOW,
    "exp": Reason.EXPIRED,
    "nbf": Reason.EXPIRED,
    "iat": Reason.EXPIRED,
}


def _claim_reason(error: JoseError) -> Reason:
    if isinstance(error, ExpiredTokenError):
        return Reason.EXPIRED
    if isinstance(error, ClaimError):
        return _CLAIM_REASONS.get(error.claim, Reason.TOKEN)
    return Reason.TOKEN
