"""What the booking pages and API accept."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from hub.schemas import IDEMPOTENCY_KEY, HubSchema

SLOT_ID = validate.Length(min=1, max=200, error=_l("This value is not valid."))


class SlotQuery(HubSchema):
    slot_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    first_day = fields.Date(data_key="from", load_default=None)
    last_day = fields.Date(data_key="to", load_default=None)


class BookingRequest(HubSchema):
    clinic = fields.String(required=True, validate=validate.Length(min=1, max=64))
    slot_id = fields.String(required=True, validate=SLOT_ID)
    idempotency_key = fields.String(required=True, validate=IDEMPOTENCY_KEY)


class SeriesBookingRequest(HubSchema):
    clinic = fields.String(required=True, validate=validate.Length(min=1, max=64))
    slot_ids = fields.List(
        fields.String(validate=SLOT_ID),
        required=True,
        validate=validate.Length(min=2, max=4, error=_l("Choose between 2 and 4 times.")),
    )
    idempotency_key = fields.String(required=True, validate=IDEMPOTENCY_KEY)


class RebookRequest(HubSchema):
    slot_id = fields.String(required=True, validate=SLOT_ID)


class FederatedQuery(HubSchema):
    slot_type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    municipality = fields.String(load_default=None, validate=validate.Length(max=100))
    first_day = fields.Date(data_key="from", load_default=None)
    last_day = fields.Date(data_key="to", load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
