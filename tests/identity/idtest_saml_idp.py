"""A real SAML IdP for tests: pysaml2's Server (xmlsec1 signs) in a small Flask app on 127.0.0.1.

The test chooses who "logs in" next (attributes, level of assurance) and, for the refusal tests,
how the IdP misbehaves (unsigned assertion, other audience, other recipient, expired). Everything
it sends is built and signed by pysaml2, not by hand.
"""

from __future__ import annotations

import base64
import re
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cryptography.utils import CryptographyDeprecationWarning
from flask import Flask, Response, redirect, request
from onelogin.saml2.settings import OneLogin_Saml2_Settings

# pysaml2 7.5.5 touches modes.CFB at import, which cryptography >= 47 deprecates (moved to
# "decrepit"); it is only a test dependency, so the warning is silenced here and nowhere else.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="CFB has been moved", category=CryptographyDeprecationWarning)
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.assertion import Policy
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
    from saml2.server import Server
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from idtest_support import KeyPair

from identity.settings import SamlIdp
from identity.subject import Audience

OTHER_SP = "https://other-sp.example/metadata"
# A second SP the IdP knows, so it can issue an assertion for another audience.
OTHER_SP_METADATA = OneLogin_Saml2_Settings(
    {
        "strict": True,
        "sp": {
            "entityId": OTHER_SP,
            "assertionConsumerService": {
                "url": "https://other-sp.example/acs",
                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            },
        },
    },
    sp_validation_only=True,
).get_sp_metadata()


@dataclass
class NextLogin:
    """What the IdP answers to the next AuthnRequest."""

    attributes: dict[str, list[str]]
    name_id: str = "persistent-id-1"
    authn_context: str | None = None  # None: the first one the SP requested
    sign_assertion: bool = True
    sign_response: bool = True
    audience: str | None = None  # None: the requesting SP
    recipient: str | None = None  # None: the SP's ACS
    destination: str | None = None
    lifetime_minutes: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


class SamlTestIdp:
    """One IdP; ``base_url`` must be known before the SP settings are built (they name it)."""

    def __init__(self, key: str, base_url: str, keys: KeyPair, audience: Audience = Audience.CITIZEN) -> None:
        self.key = key
        self.base_url = base_url
        self.keys = keys
        self.audience = audience
        self.entity_id = f"{base_url}/idp"
        self.server: Server | None = None
        self._loaded_metadata: str | None = None
        self.next = NextLogin(attributes={})
        self.last_authn_request: Any = None
        self.logout_requests: list[Any] = []
        self.app = self._make_app()

    def sp_settings(self, **overrides: Any) -> SamlIdp:
        """The SamlIdp entry the hub would configure for this IdP."""
        return SamlIdp(
            key=self.key,
            label=f"Test IdP {self.key}",
            entity_id=self.entity_id,
            sso_url=f"{self.base_url}/sso",
            slo_url=f"{self.base_url}/slo",
            certificates=(self.keys.cert_pem,),
            audience=self.audience,
            **overrides,
        )

    def load_sp_metadata(self, sp_metadata: str) -> None:
        """Configure the pysaml2 server with our SP's published metadata (and another SP's)."""
        # The same SP as in the last test (validUntil moves with the clock): skip pysaml2's slow set-up.
        same = re.sub(r'validUntil="[^"]*"', "", sp_metadata)
        if self.server is not None and same == self._loaded_metadata:
            return
        self._loaded_metadata = same
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "name": f"Test IdP {self.key}",
                        "endpoints": {
                            "single_sign_on_service": [(f"{self.base_url}/sso", BINDING_HTTP_REDIRECT)],
                            "single_logout_service": [(f"{self.base_url}/slo", BINDING_HTTP_REDIRECT)],
                        },
                        "want_authn_requests_signed": True,
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
                    }
                },
                "key_file": str(self.keys.key_file),
                "cert_file": str(self.keys.cert_file),
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "metadata": {"inline": [sp_metadata, OTHER_SP_METADATA]},
                "allow_unknown_attributes": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        )
        self.server = Server(config=config)

    # --- HTTP ---------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask(f"idp-{self.key}")

        @app.get("/sso")
        def sso() -> Response:
            assert self.server is not None, "SP metadata not loaded"
            parsed = self.server.parse_authn_request(
                request.args["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=request.args.get("RelayState"),
                sigalg=request.args.get("SigAlg"),
                signature=request.args.get("Signature"),
            )
            self.last_authn_request = parsed.message
            return Response(
                self.respond(parsed.message, request.args.get("RelayState", "")), mimetype="text/html"
            )

        @app.get("/slo")
        def slo() -> Response:
            assert self.server is not None
            parsed = self.server.parse_logout_request(
                request.args["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=request.args.get("RelayState"),
                sigalg=request.args.get("SigAlg"),
                signature=request.args.get("Signature"),
            )
            self.logout_requests.append(parsed.message)
            answer = self.server.create_logout_response(
                parsed.message,
                [BINDING_HTTP_REDIRECT],
                sign=False,
                sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
            )
            destination = self.server.metadata.single_logout_service(
                parsed.message.issuer.text, BINDING_HTTP_REDIRECT, "spsso"
            )[0]["location"]
            http = self.server.apply_binding(
                BINDING_HTTP_REDIRECT,
                str(answer),
                destination,
                request.args.get("RelayState", ""),
                response=True,
                sign=True,
                sigalg=SIG_RSA_SHA256,
            )
            return redirect(dict(http["headers"])["Location"], code=303)

        return app

    def respond(self, authn_request: Any, relay_state: str) -> str:
        """Answer an AuthnRequest with the configured NextLogin; return the auto-POST HTML."""
        acs = authn_request.assertion_consumer_service_url or self._acs(authn_request.issuer.text)
        requested = authn_request.requested_authn_context.authn_context_class_ref[0].text
        return self.post_form(authn_request.id, acs, authn_request.issuer.text, requested, relay_state)

    def post_form(
        self, in_response_to: str | None, acs: str, sp_entity_id: str, requested: str, relay_state: str = ""
    ) -> str:
        """Build, sign and POST-bind a Response (``in_response_to`` None: unsolicited)."""
        assert self.server is not None
        plan = self.next
        confirmation_data = {"recipient": plan.recipient or acs}
        if in_response_to:
            confirmation_data["in_response_to"] = in_response_to
        farg = {
            "assertion": {
                "subject": {
                    "subject_confirmation": {
                        "method": "urn:oasis:names:tc:SAML:2.0:cm:bearer",
                        "subject_confirmation_data": confirmation_data,
                    }
                }
            }
        }
        response = self.server.create_authn_response(
            identity=plan.attributes,
            in_response_to=in_response_to,
            destination=plan.destination or acs,
            sp_entity_id=plan.audience or sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=plan.name_id),
            authn={"class_ref": plan.authn_context or requested},
            sign_response=plan.sign_response,
            sign_assertion=plan.sign_assertion,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            release_policy=Policy(
                {"default": {"lifetime": {"minutes": plan.lifetime_minutes}, "name_form": NAME_FORMAT_URI}},
                self.server.metadata,
            ),
            farg=farg,
            **plan.extra,
        )
        http = self.server.apply_binding(
            BINDING_HTTP_POST, str(response), plan.destination or acs, relay_state, response=True
        )
        return http["data"]

    def logout_request_url(self, sp_entity_id: str, name_id: str, session_index: str | None = None) -> str:
        """Build an IdP-initiated, signed LogoutRequest (Redirect binding) to the SP."""
        assert self.server is not None
        destination = self.server.metadata.single_logout_service(
            sp_entity_id, BINDING_HTTP_REDIRECT, "spsso"
        )[0]["location"]
        _, message = self.server.create_logout_request(
            destination,
            self.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name_id),
            session_indexes=[session_index] if session_index else None,
            sign=False,
        )
        http = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(message), destination, "", sign=True, sigalg=SIG_RSA_SHA256
        )
        return dict(http["headers"])["Location"]

    def _acs(self, sp_entity_id: str) -> str:
        return self.server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)[0]["location"]


def decode_form_response(value: str) -> str:
    return base64.b64decode(value).decode("utf-8")


def encode_form_response(xml: str) -> str:
    return base64.b64encode(xml.encode("utf-8")).decode("ascii")


def query(url: str, **params: str) -> str:
    return f"{url}?{urlencode(params)}"
