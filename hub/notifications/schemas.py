"""Input of the profile page and its JSON twin."""

from __future__ import annotations

from marshmallow import fields

from hub.schemas import HubSchema


class ProfileInput(HubSchema):
    email = fields.String(load_default="")
    phone = fields.String(load_default="")
    # An unticked checkbox is simply absent from a form post: absent means no consent.
    email_consent = fields.Boolean(load_default=False)
    sms_consent = fields.Boolean(load_default=False)
    language = fields.String(load_default=None)
