"""Admin form input, parsed at the edge with translated messages."""

from __future__ import annotations

from typing import Any

from flask import Request
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from hub.schemas import HubSchema

CODE = validate.Regexp(
    r"^[A-Za-z0-9_.-]{1,64}$", error=_l("Use 1 to 64 letters, digits or - _ . characters.")
)
HSA_ID = validate.Regexp(r"^[A-Za-z0-9-]{5,64}$", error=_l("Not a valid HSA-id."))
TIME_INVALID = _l("Not a valid time. Use the form HH:MM.")


def form_data(request: Request) -> dict[str, Any]:
    """The posted form without empty fields, so that left-out optional values count as absent."""
    return {key: value for key, value in request.form.items() if key != "csrf_token" and value.strip() != ""}


class TimeSchema(HubSchema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, fields.Time):
                field.error_messages["invalid"] = TIME_INVALID


class CaseTypeSwitch(HubSchema):
    enabled = fields.Boolean(required=True)


class LimitsForm(HubSchema):
    horizon_days = fields.Integer(required=True, validate=validate.Range(1, 365))
    min_notice_minutes = fields.Integer(required=True, validate=validate.Range(0, 14 * 24 * 60))


class CalendarSlotTypeForm(HubSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    duration_minutes = fields.Integer(required=True, validate=validate.Range(5, 480))
    capacity = fields.Integer(required=True, validate=validate.Range(1, 100))
    cancel_deadline_minutes = fields.Integer(required=True, validate=validate.Range(0, 14 * 24 * 60))


class PractitionerForm(HubSchema):
    code = fields.String(required=True, validate=CODE)
    given_name = fields.String(required=True, validate=validate.Length(1, 100))
    family_name = fields.String(required=True, validate=validate.Length(1, 100))
    title = fields.String(load_default=None, validate=validate.Length(max=100))


class RuleForm(TimeSchema):
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6))
    start_time = fields.Time(required=True)
    end_time = fields.Time(required=True)
    slot_type_id = fields.Integer(required=True)
    practitioner_id = fields.Integer(load_default=None)
    capacity = fields.Integer(load_default=None, validate=validate.Range(1, 100))


class ClosureForm(TimeSchema):
    start_day = fields.Date(required=True)
    start_time = fields.Time(load_default=None)
    end_day = fields.Date(required=True)
    end_time = fields.Time(load_default=None)
    practitioner_id = fields.Integer(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


class ClosedDateForm(HubSchema):
    day = fields.Date(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


class RegisterForm(HubSchema):
    hsa_id = fields.String(required=True, validate=HSA_ID)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    municipality = fields.String(required=True, validate=validate.Length(1, 100))
    street_address = fields.String(load_default=None, validate=validate.Length(max=200))
    postal_code = fields.String(load_default=None, validate=validate.Length(max=16))
    city = fields.String(load_default=None, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    email = fields.String(load_default=None, validate=validate.Email(error=_l("Not a valid e-mail address.")))


class AssignAdminForm(HubSchema):
    personal_number = fields.String(required=True, validate=validate.Length(10, 13))
    label = fields.String(required=True, validate=validate.Length(1, 200))


class OutcomeForm(HubSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["done", "no_show"]))


class ConflictForm(HubSchema):
    action = fields.String(required=True)
    note = fields.String(load_default="")


class DayListQuery(HubSchema):
    day = fields.Date(load_default=None)
    days = fields.Integer(load_default=7, validate=validate.Range(1, 14))


class WeekQuery(HubSchema):
    week = fields.Date(load_default=None)


class BulkCriteriaForm(HubSchema):
    day = fields.Date(load_default=None)
    slot_type = fields.String(load_default=None)
