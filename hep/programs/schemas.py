"""What the program builder accepts: a program's schedule and details, its items and goals.

One pydantic layer checks the builder form (and anything else that creates a program); errors
come back keyed by the form field's name (`items-2-sets`, `goals-0-text`) for re-display.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal
from uuid import UUID

from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from hep.forms import friendly_message

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DosageKind = Literal["reps", "hold", "timed"]
Side = Literal["both", "left", "right", "each"]
LoadUnit = Literal["kg", "lb"]

WEEKDAY_ORDER: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEASURE_FIELD: dict[str, str] = {
    "reps": "reps",
    "hold": "hold_seconds",
    "timed": "duration_seconds",
}
# The fields of an item that make up its dosage: a change to any of them is versioned.
DOSAGE_FIELDS: tuple[str, ...] = (
    "dosage_kind",
    "sets",
    "reps",
    "hold_seconds",
    "duration_seconds",
    "rest_seconds",
    "load_value",
    "load_unit",
    "load_text",
    "side",
    "notes",
)
# SPEC §5: 2-6 exercises per program; adherence falls as the number rises.
RECOMMENDED_MAX_ITEMS = 6
MAX_ITEMS = 30
MAX_GOALS = 10

ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$", re.IGNORECASE)


def _icd10(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().upper()
    if not value:
        return None
    if not ICD10_RE.match(value):
        raise ValueError(str(_l("Enter an ICD-10 code like M17.11, or leave it empty")))
    return value


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _checkbox(value: Any) -> Any:
    """An HTML checkbox sends its value when ticked and nothing when not."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "on", "true", "yes", "y")
    return value


def _form_token(value: Any) -> UUID | None:
    """The builder's hidden one-time token; a mangled one only loses the double-save guard."""
    if isinstance(value, UUID) or value is None:
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _weekdays(values: list[str]) -> list[str]:
    return [day for day in WEEKDAY_ORDER if day in set(values)]


Text = BeforeValidator(_text)
Checkbox = Annotated[bool, BeforeValidator(_checkbox)]


class ItemIn(BaseModel):
    """One exercise in a program with its dosage. `dosage_kind` is the exercise's own."""

    model_config = ConfigDict(extra="ignore")

    item_id: int | None = None
    exercise_id: Annotated[int, Field(ge=1, title=_l("Exercise"))]
    dosage_kind: Annotated[DosageKind, Field(title=_l("Kind of dosage"))] = "reps"
    sets: Annotated[int, Field(ge=1, le=10, title=_l("Sets"))]
    reps: Annotated[int | None, Field(ge=1, le=100, title=_l("Reps"))] = None
    hold_seconds: Annotated[int | None, Field(ge=1, le=300, title=_l("Hold (seconds)"))] = None
    duration_seconds: Annotated[int | None, Field(ge=5, le=7200, title=_l("Time (seconds)"))] = None
    rest_seconds: Annotated[int, Field(ge=0, le=600, title=_l("Rest (seconds)"))] = 30
    load_text: Annotated[
        Annotated[str, Text, Field(max_length=80)] | None, Field(title=_l("Load"))
    ] = None
    load_value: Annotated[float | None, Field(ge=0.1, le=1000, title=_l("Weight"))] = None
    load_unit: Annotated[LoadUnit | None, Field(title=_l("Unit"))] = None
    side: Annotated[Side, Field(title=_l("Side"))] = "both"
    notes: Annotated[str, Text, Field(max_length=500, title=_l("Notes"))] = ""
    contraindication_override: Annotated[
        Annotated[str, Text, Field(max_length=500)] | None, Field(title=_l("Reason"))
    ] = None

    @model_validator(mode="after")
    def _one_measure_and_one_load(self) -> ItemIn:
        needed = MEASURE_FIELD[self.dosage_kind]
        if getattr(self, needed) is None:
            label = type(self).model_fields[needed].title
            raise _field_error(needed, _l("Enter %(label)s", label=str(label).lower()))
        for name in MEASURE_FIELD.values():
            if name != needed:
                setattr(self, name, None)
        if self.load_value is not None and self.load_text:
            raise _field_error("load_value", _l("Give the load as words or as a weight, not both"))
        if self.load_value is not None and self.load_unit is None:
            raise _field_error("load_unit", _l("Choose kg or lb for the weight"))
        if self.load_value is None:
            self.load_unit = None
        self.load_text = self.load_text or None
        self.contraindication_override = self.contraindication_override or None
        return self

    def dosage(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DOSAGE_FIELDS}


class GoalIn(BaseModel):
    """A SMART goal: what the patient will be able to do, and by when."""

    model_config = ConfigDict(extra="ignore")

    goal_id: int | None = None
    text: Annotated[str, Text, Field(min_length=3, max_length=300, title=_l("Goal"))]
    target_date: Annotated[date | None, Field(title=_l("Target date"))] = None


class ProgramIn(BaseModel):
    """A whole program as the builder submits it."""

    model_config = ConfigDict(extra="ignore")

    title: Annotated[str, Text, Field(min_length=1, max_length=120, title=_l("Program name"))]
    days: Annotated[list[Weekday], Field(min_length=1, title=_l("Days")), AfterValidator(_weekdays)]
    times_per_day: Annotated[int, Field(ge=1, le=6, title=_l("Times a day"))] = 1
    start_date: Annotated[date, Field(title=_l("Start date"))]
    end_date: Annotated[date | None, Field(title=_l("End date"))] = None
    reminder_time: Annotated[time | None, Field(title=_l("Reminder time"))] = None
    diagnosis: Annotated[str, Text, Field(max_length=300, title=_l("Diagnosis"))] = ""
    icd10: Annotated[
        Annotated[str, Field(max_length=12)] | None,
        Field(title=_l("ICD-10 code")),
        AfterValidator(_icd10),
    ] = None
    precautions: Annotated[str, Text, Field(max_length=1000, title=_l("Precautions"))] = ""
    auto_apply_progressions: Checkbox = False
    end_previous: Checkbox = False
    change_reason: Annotated[
        str, Text, Field(max_length=200, title=_l("Reason for the change"))
    ] = ""
    items: Annotated[list[ItemIn], Field(max_length=MAX_ITEMS, title=_l("Exercises"))] = []
    goals: Annotated[list[GoalIn], Field(max_length=MAX_GOALS, title=_l("Goals"))] = []
    # Set when the builder form is first shown: saving the same form twice makes one program.
    form_token: Annotated[UUID | None, BeforeValidator(_form_token)] = None

    @model_validator(mode="after")
    def _end_after_start(self) -> ProgramIn:
        if self.end_date is not None and self.end_date <= self.start_date:
            raise _field_error("end_date", _l("The end date must be after the start date"))
        return self


def _field_error(name: str, message: Any) -> ValueError:
    """A model-level check failing on one field: the message is shown beside that field."""
    return ValueError(f"{name}|{message}")


def field_name(loc: tuple[int | str, ...]) -> str:
    """The form field a pydantic error location points at: ("items", 2, "sets") -> items-2-sets."""
    return "-".join(str(part) for part in loc) if loc else "__all__"


def _label(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        info = fields.get(part)
        if info is None:
            break
        args = getattr(info.annotation, "__args__", ())
        inner = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        current = inner or info.annotation
    if info is not None and info.title:
        return str(info.title)
    return str(loc[-1]).replace("_", " ").capitalize() if loc else ""


def validate_program(payload: dict[str, Any]) -> tuple[ProgramIn | None, dict[str, str]]:
    """Validate a builder payload; errors are keyed by form field name."""
    try:
        return ProgramIn.model_validate(payload), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "value_error":
                message = str((error.get("ctx") or {}).get("error", error["msg"]))
                if "|" in message:
                    name, message = message.split("|", 1)
                    loc = (*loc, name)
                errors.setdefault(field_name(loc), message)
                continue
            errors.setdefault(field_name(loc), friendly_message(error, _label(ProgramIn, loc)))
        return None, errors
