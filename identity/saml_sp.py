"""SAML 2.0 service provider on python3-saml, with the checks the library leaves to the app.

Beyond the library (strict mode, signed assertions and messages, exact authn-context subset)
we: refuse unsolicited responses and match InResponseTo to a request we sent, once, from the same
browser; compare Destination and Recipient exactly; keep a database replay cache of assertion ids;
rank the level of assurance against the minimum; validate the personal number.
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from sqlalchemy.orm import Session

from identity import assurance, store
from identity.errors import LoginRefused, Reason
from identity.personal_numbers import InvalidPersonalNumber, parse, redact
from identity.settings import IdentitySettings, SamlIdp
from identity.subject import VerifiedSubject

log = logging.getLogger(__name__)

PROTOCOL = "saml"
MAX_RESPONSE_BYTES = 256 * 1024
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

# python3-saml error codes that name a specific check, for our reason codes.
_LIBRARY_REASONS = {
    OneLogin_Saml2_ValidationError.WRONG_AUDIENCE: Reason.AUDIENCE,
    OneLogin_Saml2_ValidationError.WRONG_DESTINATION: Reason.DESTINATION,
    OneLogin_Saml2_ValidationError.WRONG_SUBJECTCONFIRMATION: Reason.RECIPIENT,
    OneLogin_Saml2_ValidationError.ASSERTION_EXPIRED: Reason.EXPIRED,
    OneLogin_Saml2_ValidationError.ASSERTION_TOO_EARLY: Reason.EXPIRED,
    OneLogin_Saml2_ValidationError.SESSION_EXPIRED: Reason.EXPIRED,
    OneLogin_Saml2_ValidationError.RESPONSE_EXPIRED: Reason.EXPIRED,
    OneLogin_Saml2_ValidationError.WRONG_SIGNED_ELEMENT: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.INVALID_SIGNED_ELEMENT: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.UNEXPECTED_SIGNED_ELEMENTS: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.INVALID_SIGNATURE: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.NO_SIGNED_ASSERTION: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.NO_SIGNED_MESSAGE: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.NO_SIGNATURE_FOUND: Reason.SIGNATURE,
    OneLogin_Saml2_ValidationError.WRONG_INRESPONSETO: Reason.UNKNOWN_REQUEST,
    OneLogin_Saml2_ValidationError.AUTHN_CONTEXT_MISMATCH: Reason.LOA_TOO_LOW,
    OneLogin_Saml2_ValidationError.WRONG_ISSUER: Reason.ISSUER,
}


@dataclass(frozen=True)
class SamlLogin:
    """A verified SAML login: the subject and what single logout will need."""

    subject: VerifiedSubject
    name_id: str
    idp_session: dict[str, Any]
    # What the caller kept with the request (where to go next, the session to replace).
    context: dict[str, Any]


class ServiceProvider:
    """Our SP towards every configured SAML IdP."""

    def __init__(self, settings: IdentitySettings) -> None:
        if settings.sp is None:
            raise ValueError("SAML SP settings missing")
        self.settings = settings
        self._per_idp = {
            idp.key: OneLogin_Saml2_Settings(self._library_settings(idp), sp_validation_only=False)
            for idp in settings.saml_idps
        }
        self._sp_only = OneLogin_Saml2_Settings(self._library_settings(None), sp_validation_only=True)

    # --- metadata -----------------------------------------------------------------------

    def metadata(self) -> str:
        """Return our SP metadata XML, after the library validated it."""
        xml = self._sp_only.get_sp_metadata()
        errors = self._sp_only.validate_metadata(xml)
        if errors:
            raise ValueError(f"invalid SP metadata: {errors}")
        return xml.decode("utf-8") if isinstance(xml, bytes) else xml

    # --- login --------------------------------------------------------------------------

    def begin_login(self, db: Session, idp_key: str, *, browser: str, context: dict[str, Any]) -> str:
        """Build a signed AuthnRequest for ``idp_key``, remember its id, return the redirect URL."""
        idp = self._idp(idp_key)
        auth = OneLogin_Saml2_Auth(self._request_data(), self._per_idp[idp.key])
        url = auth.login(return_to="")
        now = self.settings.clock()
        store.remember_request(
            db,
            request_id=auth.get_last_request_id(),
            protocol=PROTOCOL,
            idp=idp.key,
            browser=browser,
            payload={"context": context},
            now=now,
            expires_at=now + self.settings.login_request_ttl,
        )
        return url

    def complete_login(self, db: Session, saml_response: str | None, *, browser: str | None) -> SamlLogin:
        """Verify a POSTed SAMLResponse end to end, or raise LoginRefused."""
        xml = _decode(saml_response)
        in_response_to = _in_response_to(xml)
        if not in_response_to:
            # The library would accept an unsolicited (IdP-initiated) response: we never do.
            raise LoginRefused(Reason.UNSOLICITED, "response without InResponseTo")
        now = self.settings.clock()
        pending = store.consume_request(
            db, request_id=in_response_to, protocol=PROTOCOL, browser=browser, now=now
        )
        idp = self._idp(pending.idp)
        response = self._validated_response(idp, saml_response or "", pending.id)
        self._check_destination_and_recipient(response)
        loa = self._check_assurance(response)
        self._check_replay(db, idp, response, now)
        subject = self._subject(idp, response, loa)
        session = {
            "idp": idp.key,
            "name_id": response.get_nameid(),
            "name_id_format": response.get_nameid_format(),
            "name_id_nq": response.get_nameid_nq(),
            "name_id_spnq": response.get_nameid_spnq(),
            "session_index": response.get_session_index(),
        }
        return SamlLogin(subject, response.get_nameid(), session, pending.payload.get("context") or {})

    # --- single logout ------------------------------------------------------------------

    def supports_logout(self, idp_key: str) -> bool:
        idp = self.settings.saml_idp(idp_key)
        return idp is not None and bool(idp.slo_url)

    def begin_logout(self, db: Session, idp_session: dict[str, Any], *, browser: str) -> str:
        """Build a signed LogoutRequest for the session's IdP; return the redirect URL."""
        idp = self._idp(idp_session["idp"])
        auth = OneLogin_Saml2_Auth(self._request_data(), self._per_idp[idp.key])
        url = auth.logout(
            return_to="",
            name_id=idp_session.get("name_id"),
            session_index=idp_session.get("session_index"),
            nq=idp_session.get("name_id_nq"),
            name_id_format=idp_session.get("name_id_format"),
            spnq=idp_session.get("name_id_spnq"),
        )
        now = self.settings.clock()
        store.remember_request(
            db,
            request_id=auth.get_last_request_id(),
            protocol="saml-slo",
            idp=idp.key,
            browser=browser,
            payload={},
            now=now,
            expires_at=now + self.settings.login_request_ttl,
        )
        return url

    def handle_logout_message(
        self, db: Session, get_data: dict[str, str], *, browser: str | None
    ) -> LogoutOutcome:
        """Process a LogoutResponse (to our request) or an IdP-initiated LogoutRequest (Redirect binding)."""
        if "SAMLResponse" in get_data:
            xml = _decode(get_data["SAMLResponse"], inflate=True)
            in_response_to = _in_response_to(xml)
            if not in_response_to:
                raise LoginRefused(Reason.UNSOLICITED, "logout response without InResponseTo")
            now = self.settings.clock()
            pending = store.consume_request(
                db, request_id=in_response_to, protocol="saml-slo", browser=browser, now=now
            )
            auth = OneLogin_Saml2_Auth(
                self._request_data(endpoint=self.settings.slo_url, get_data=get_data),
                self._per_idp[pending.idp],
            )
            self._run(lambda: auth.process_slo(keep_local_session=True, request_id=pending.id))
            self._raise_library_errors(auth.get_errors(), auth.get_last_error_reason())
            return LogoutOutcome(redirect=None, ended_idp_subject=None)
        if "SAMLRequest" in get_data:
            xml = _decode(get_data["SAMLRequest"], inflate=True)
            idp = self._idp_by_entity_id(_issuer(xml))
            auth = OneLogin_Saml2_Auth(
                self._request_data(endpoint=self.settings.slo_url, get_data=get_data), self._per_idp[idp.key]
            )
            redirect = self._run(lambda: auth.process_slo(keep_local_session=True))
            self._raise_library_errors(auth.get_errors(), auth.get_last_error_reason())
            name_id = _logout_name_id(xml)
            return LogoutOutcome(redirect=redirect, ended_idp_subject=(idp.key, name_id, _session_index(xml)))
        raise LoginRefused(Reason.MALFORMED, "no SAML message")

    # --- checks -------------------------------------------------------------------------

    def _validated_response(
        self, idp: SamlIdp, saml_response: str, request_id: str
    ) -> OneLogin_Saml2_Response:
        library_settings = self._per_idp[idp.key]
        request_data = self._request_data(post_data={"SAMLResponse": saml_response})
        response = self._run(lambda: OneLogin_Saml2_Response(library_settings, saml_response))
        try:
            response.is_valid(request_data, request_id, raise_exceptions=True)
        except OneLogin_Saml2_ValidationError as error:
            reason = _LIBRARY_REASONS.get(error.code, Reason.INVALID_RESPONSE)
            raise LoginRefused(reason, redact(str(error))) from None
        except Exception as error:  # the library raises plain Exceptions for some malformed input
            raise LoginRefused(Reason.INVALID_RESPONSE, redact(f"{type(error).__name__}: {error}")) from None
        return response

    def _check_destination_and_recipient(self, response: OneLogin_Saml2_Response) -> None:
        # The library compares Destination as a prefix and Recipient as a substring.
        acs = self.settings.acs_url
        if response.document.get("Destination") != acs:
            raise LoginRefused(Reason.DESTINATION, "Destination is not exactly our ACS URL")
        # With an EncryptedAssertion the (signed) assertion lives in the decrypted document.
        document = response.decrypted_document if response.encrypted else response.document
        confirmations = OneLogin_Saml2_XML.query(
            document,
            f'/samlp:Response/saml:Assertion/saml:Subject/saml:SubjectConfirmation[@Method="{BEARER}"]'
            "/saml:SubjectConfirmationData",
        )
        if not confirmations or any(node.get("Recipient") != acs for node in confirmations):
            raise LoginRefused(Reason.RECIPIENT, "Recipient is not exactly our ACS URL")

    def _check_assurance(self, response: OneLogin_Saml2_Response) -> str:
        ranked = assurance.best(response.get_authn_contexts())
        if ranked is None or not assurance.meets(ranked[0], self.settings.minimum_loa):
            raise LoginRefused(Reason.LOA_TOO_LOW, "authn context below the minimum")
        return ranked[0]

    def _check_replay(
        self, db: Session, idp: SamlIdp, response: OneLogin_Saml2_Response, now: datetime
    ) -> None:
        # Keep the id at least as long as the assertion could still pass the time checks.
        not_on_or_after = response.get_assertion_not_on_or_after()
        expires_at = now + timedelta(days=1)
        if not_on_or_after:
            expires_at = max(datetime.fromtimestamp(not_on_or_after, UTC) + timedelta(minutes=5), now)
        if not store.record_assertion(
            db, issuer=idp.entity_id, assertion_id=response.get_assertion_id(), expires_at=expires_at
        ):
            raise LoginRefused(Reason.REPLAYED, "assertion id already used")

    def _subject(self, idp: SamlIdp, response: OneLogin_Saml2_Response, loa: str) -> VerifiedSubject:
        attributes = response.get_attributes()

        def first(name: str) -> str | None:
            values = attributes.get(idp.attributes.get(name, ""), [])
            return values[0] if values else None

        raw = first("personal_number")
        if not raw:
            raise LoginRefused(Reason.MISSING_ATTRIBUTE, "no personal identity number attribute")
        try:
            countries = idp.personal_number_countries or self.settings.personal_number_countries
            number = parse(raw, countries, today=self.settings.clock().date())
        except InvalidPersonalNumber:
            raise LoginRefused(Reason.INVALID_PERSONAL_NUMBER, "attribute is not a valid number") from None
        return VerifiedSubject(
            personal_number=number.value,
            given_name=first("given_name"),
            family_name=first("family_name"),
            display_name=first("display_name"),
            loa=loa,
            idp=idp.key,
            birth_date=number.birth_date,
            country=number.country.value,
            audience=idp.audience,
        )

    # --- plumbing -----------------------------------------------------------------------

    def _idp(self, key: str) -> SamlIdp:
        idp = self.settings.saml_idp(key)
        if idp is None:
            raise LoginRefused(Reason.UNKNOWN_IDP, "no such SAML IdP")
        return idp

    def _idp_by_entity_id(self, entity_id: str | None) -> SamlIdp:
        idp = next((idp for idp in self.settings.saml_idps if idp.entity_id == entity_id), None)
        if idp is None:
            raise LoginRefused(Reason.UNKNOWN_IDP, "message from an unknown issuer")
        return idp

    @staticmethod
    def _run(call: Any) -> Any:
        # A DOCTYPE makes python3-saml raise instead of reporting an error; so may other bad XML.
        try:
            return call()
        except LoginRefused:
            raise
        except Exception as error:
            raise LoginRefused(Reason.MALFORMED, redact(f"{type(error).__name__}: {error}")) from None

    @staticmethod
    def _raise_library_errors(errors: list[str], reason: str | None) -> None:
        if errors:
            raise LoginRefused(Reason.INVALID_RESPONSE, redact(f"{','.join(errors)}: {reason or ''}"))

    def _request_data(
        self,
        *,
        endpoint: str | None = None,
        get_data: dict[str, str] | None = None,
        post_data: dict[str, str] | None = None,
    ) -> dict:
        # Built from the public URL, not the incoming request, so it is right behind a proxy; the
        # library compares Destination with this URL.
        public = urlsplit(endpoint or self.settings.acs_url)
        return {
            "https": "on" if public.scheme == "https" else "off",
            "http_host": public.netloc,
            "script_name": public.path,
            "get_data": dict(get_data or {}),
            "post_data": dict(post_data or {}),
        }

    def _library_settings(self, idp: SamlIdp | None) -> dict[str, Any]:
        sp = self.settings.sp
        assert sp is not None
        requested = (
            list(idp.authn_contexts)
            if idp and idp.authn_contexts
            else assurance.acceptable(self.settings.minimum_loa)
        )
        data: dict[str, Any] = {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": sp.entity_id,
                "assertionConsumerService": {
                    "url": self.settings.acs_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
                },
                "singleLogoutService": {
                    "url": self.settings.slo_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
                },
                "NameIDFormat": PERSISTENT,
                "x509cert": sp.certificate,
                "privateKey": sp.private_key,
            },
            "security": {
                "authnRequestsSigned": True,
                "logoutRequestSigned": True,
                "logoutResponseSigned": True,
                "wantAssertionsSigned": True,
                "wantMessagesSigned": idp.want_messages_signed if idp else True,
                # Without an IdP these settings only build the metadata: publishing the encryption
                # key lets any IdP encrypt (Sweden Connect does), and python3-saml decrypts anyway.
                "wantAssertionsEncrypted": idp.want_assertions_encrypted if idp else True,
                "wantNameId": True,
                "requestedAuthnContext": requested,
                "requestedAuthnContextComparison": "exact",
                "failOnAuthnContextMismatch": True,
                "rejectDeprecatedAlgorithm": True,
                "signatureAlgorithm": OneLogin_Saml2_Constants.RSA_SHA256,
                "digestAlgorithm": OneLogin_Saml2_Constants.SHA256,
                "wantAttributeStatement": True,
                "allowRepeatAttributeName": False,
            },
        }
        if sp.organisation_url:
            data["organization"] = {
                "en": {
                    "name": sp.organisation_name,
                    "displayname": sp.organisation_name,
                    "url": sp.organisation_url,
                }
            }
        if sp.technical_contact_email:
            data["contactPerson"] = {
                "technical": {"givenName": sp.organisation_name, "emailAddress": sp.technical_contact_email}
            }
        if idp is not None:
            data["idp"] = {
                "entityId": idp.entity_id,
                "singleSignOnService": {
                    "url": idp.sso_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
                },
                "x509certMulti": {"signing": [_cert_body(c) for c in idp.certificates]},
            }
            if idp.slo_url:
                data["idp"]["singleLogoutService"] = {
                    "url": idp.slo_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
                }
        return data


@dataclass(frozen=True)
class LogoutOutcome:
    """After a logout message: where to send the browser, and whose sessions the IdP ended."""

    redirect: str | None
    ended_idp_subject: tuple[str, str | None, str | None] | None


def _cert_body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)


def _decode(value: str | None, *, inflate: bool = False) -> bytes:
    if not value or len(value) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise LoginRefused(Reason.MALFORMED, "missing or oversized SAML message")
    try:
        raw = base64.b64decode(value, validate=False)
        if inflate:
            # Bounded: a small deflated message can expand enormously (and the library inflates it
            # again without a limit, so it must not see one that is too big).
            inflater = zlib.decompressobj(-15)
            raw = inflater.decompress(raw, MAX_RESPONSE_BYTES)
            if inflater.unconsumed_tail:
                raise ValueError("inflates beyond the limit")
    except (binascii.Error, ValueError, zlib.error) as error:
        raise LoginRefused(Reason.MALFORMED, f"undecodable: {type(error).__name__}") from None
    return raw


def _root(xml: bytes) -> Any:
    try:
        return OneLogin_Saml2_XML.to_etree(xml)
    except Exception as error:  # DTDForbidden, EntitiesForbidden, syntax errors
        raise LoginRefused(Reason.MALFORMED, f"unparsable XML: {type(error).__name__}") from None


def _in_response_to(xml: bytes) -> str | None:
    return _root(xml).get("InResponseTo")


def _issuer(xml: bytes) -> str | None:
    nodes = OneLogin_Saml2_XML.query(_root(xml), "/samlp:LogoutRequest/saml:Issuer")
    return nodes[0].text if nodes else None


def _logout_name_id(xml: bytes) -> str | None:
    nodes = OneLogin_Saml2_XML.query(_root(xml), "/samlp:LogoutRequest/saml:NameID")
    return nodes[0].text if nodes else None


def _session_index(xml: bytes) -> str | None:
    nodes = OneLogin_Saml2_XML.query(_root(xml), "/samlp:LogoutRequest/samlp:SessionIndex")
    return nodes[0].text if nodes else None
