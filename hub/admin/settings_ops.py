"""Case types and slot types of a clinic: switches with readiness rules, names per language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from clinic_adapters import AdapterError
from hub.admin.access import changed
from hub.admin.readiness import missing_for
from hub.booking.timebooks import clinic_ref, timebook_for
from hub.errors import ValidationFailed
from hub.models import CaseType, Clinic, ClinicCaseType, ClinicSlotType
from identity.roles import Actor

LANGUAGES = ("sv", "en", "de")


@dataclass(frozen=True)
class CaseTypeState:
    case_type: CaseType
    enabled: bool
    missing: list[Any]


def case_type_states(db: Session, clinic: Clinic) -> list[CaseTypeState]:
    enabled = clinic.enabled_case_types()
    return [CaseTypeState(c, c in enabled, missing_for(db, clinic, c)) for c in CaseType]


def set_case_type(db: Session, actor: Actor, clinic: Clinic, case_type: CaseType, enabled: bool) -> None:
    """Switch a case type; on only when complete. Off takes effect at once; bookings stay."""
    if enabled:
        missing = missing_for(db, clinic, case_type)
        if missing:
            raise ValidationFailed(_l("This case type cannot be activated yet."), fields={"missing": missing})
    row = next((c for c in clinic.case_types if c.case_type == case_type), None)
    before = bool(row and row.enabled)
    if row is None:
        row = ClinicCaseType(clinic=clinic, case_type=case_type.value, enabled=enabled)
        db.add(row)
    row.enabled = enabled
    db.flush()
    changed(actor, "case_type", clinic, before=before, after=enabled, case_type=case_type.value)


@dataclass
class SlotTypeRow:
    code: str
    timebook_name: str | None  # None: the timebook no longer offers it (or could not be asked)
    visible: bool
    names: dict[str, str]


def slot_type_rows(db: Session, clinic: Clinic) -> tuple[list[SlotTypeRow], bool]:
    """Merge the timebook's slot types with the clinic's choices; say whether the timebook answered."""
    stored = {s.code: s for s in clinic.slot_types}
    offered: dict[str, str] = {}
    reachable = True
    try:
        offered = {t.id: t.name for t in timebook_for(clinic).list_time_types(clinic_ref(clinic))}
    except (AdapterError, TypeError, ValueError):
        # Unreachable, or a connection set up wrongly (the adapter refuses its configuration).
        reachable = False
    rows = [
        SlotTypeRow(
            code,
            offered.get(code),
            bool(stored[code].visible) if code in stored else False,
            dict(stored[code].names) if code in stored else {},
        )
        for code in sorted(set(offered) | set(stored))
    ]
    return rows, reachable


def update_slot_types(
    db: Session, actor: Actor, clinic: Clinic, choices: dict[str, tuple[bool, dict[str, str]]]
) -> None:
    """Save which slot types citizens see and their names; a shown one needs a Swedish name."""
    rows, _reachable = slot_type_rows(db, clinic)
    known = {r.code: r for r in rows}
    problems: dict[str, list[Any]] = {}
    for code, (visible, names) in choices.items():
        if code not in known:
            problems[f"name_sv_{code}"] = [_l("Unknown slot type.")]
        elif visible and not names.get("sv"):
            problems[f"name_sv_{code}"] = [_l("Give a Swedish name to every slot type you show.")]
    if problems:
        raise ValidationFailed(fields=problems)
    stored = {s.code: s for s in clinic.slot_types}
    for code, (visible, names) in choices.items():
        row = stored.get(code)
        before = {"visible": row.visible, "names": dict(row.names)} if row else None
        if row is None:
            row = ClinicSlotType(clinic=clinic, code=code, visible=visible, names={})
            db.add(row)
        after = {"visible": visible, "names": {k: v for k, v in names.items() if v}}
        if before == after:
            continue
        row.visible, row.names = after["visible"], after["names"]
        changed(actor, "slot_type", clinic, before=before, after=after, code=code)
    db.flush()
    # A switched-on case type must stay complete: hiding the last shown type is refused.
    for case_type in clinic.enabled_case_types():
        if case_type is not CaseType.REBOOK_CANCEL and not any(s.visible for s in clinic.slot_types):
            raise ValidationFailed(
                _l("Keep at least one slot type shown while citizens can book, or switch booking off first.")
            )
