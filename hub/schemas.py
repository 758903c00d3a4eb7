"""Input parsing at the edge: marshmallow schemas whose messages speak the user's language."""

from __future__ import annotations

import functools
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from hub.errors import ValidationFailed

TRANSLATED_FIELD_ERRORS = {
    "required": _l("This field is required."),
    "null": _l("This field is required."),
    "invalid": _l("This value is not valid."),
}
TRANSLATED_INVALID = {
    fields.Date: _l("Not a valid date. Use the form YYYY-MM-DD."),
    fields.Integer: _l("Not a whole number."),
    fields.List: _l("Not a valid list."),
}

IDEMPOTENCY_KEY = validate.Regexp(
    r"^[A-Za-z0-9_.:-]{8,100}$",
    error=_l("Use 8 to 100 letters, digits or - _ . : characters."),
)


class HubSchema(Schema):
    """A schema whose field errors are translated and which ignores unknown fields."""

    class Meta:
        unknown = EXCLUDE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages.update(TRANSLATED_FIELD_ERRORS)
            for field_type, message in TRANSLATED_INVALID.items():
                if isinstance(field, field_type):
                    field.error_messages["invalid"] = message


@functools.cache
def _shared(schema_class: type[Schema]) -> Schema:
    # Building a schema deep-copies its fields; its messages are lazy (translated when shown)
    # and loading changes nothing in it, so one instance serves every request and thread.
    return schema_class()


def parse(schema: type[Schema], data: Any) -> dict[str, Any]:
    """Load ``data`` with the shared instance of ``schema``, or raise a 422 listing every field's
    problem."""
    try:
        return _shared(schema).load(data or {})
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise ValidationFailed(
            fields={k: v if isinstance(v, list) else [v] for k, v in messages.items()}
        ) from error
