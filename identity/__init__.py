"""e-ID login for citizens and staff: SAML SP, OIDC RP, assurance, personal numbers, sessions, roles.

Imports nothing of ours; the hub wires it in through ``identity.flask.create_identity_blueprint``.
"""

from identity.errors import LoginRefused, Reason
from identity.settings import IdentitySettings, OidcProvider, SamlIdp, SamlSp
from identity.subject import Audience, VerifiedSubject

__all__ = [
    "Audience",
    "IdentitySettings",
    "LoginRefused",
    "OidcProvider",
    "Reason",
    "SamlIdp",
    "SamlSp",
    "VerifiedSubject",
]
