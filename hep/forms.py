"""The one validation layer: pydantic models check forms and JSON alike.

`parse_form` validates submitted fields against a model and returns either the clean data or
plain-language messages per field, with what the person typed kept for re-display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict

T = TypeVar("T", bound=BaseModel)


@dataclass
class FormResult(Generic[T]):
    values: dict[str, Any]
    data: T | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)
        self.data = None


def friendly_message(error: dict[str, Any], label: str) -> str:
    """Turn one pydantic error into a sentence a patient understands."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return _("Enter %(label)s", label=label.lower())
    if kind == "string_too_short":
        return _("%(label)s must be at least %(n)s characters", label=label, n=ctx["min_length"])
    if kind == "string_too_long":
        return _("%(label)s must be %(n)s characters or fewer", label=label, n=ctx["max_length"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return _("%(label)s must be a whole number", label=label)
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return _("%(label)s must be a number", label=label)
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return _("%(label)s must be %(n)s or more", label=label, n=limit)
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return _("%(label)s must be %(n)s or less", label=label, n=limit)
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return _("%(label)s must be a real date", label=label)
    if kind in ("time_parsing", "time_type"):
        return _("%(label)s must be a time like 08:30", label=label)
    if kind in ("literal_error", "enum"):
        return _("Choose %(label)s from the list", label=label.lower())
    if kind == "value_error":
        # Validators raise plain English; hep/translations/dynamic.py lists them for pybabel.
        message = str(ctx.get("error", error["msg"]))
        return _(message) if message else message
    return _("Check %(label)s", label=label.lower())


def validate(model: type[T], payload: dict[str, Any]) -> tuple[T | None, dict[str, str]]:
    try:
        return model.model_validate(payload), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "__all__"
            info = model.model_fields.get(name)
            label = info.title if info and info.title else name.replace("_", " ").capitalize()
            errors.setdefault(name, friendly_message(error, _(label)))
        return None, errors


def parse_form(model: type[T], form: MultiDict, lists: tuple[str, ...] = ()) -> FormResult[T]:
    """Validate a submitted form; blank fields count as not given."""
    values: dict[str, Any] = {}
    for name in model.model_fields:
        if name in lists:
            values[name] = [v for v in form.getlist(name) if v.strip()]
        elif name in form:
            values[name] = form.get(name, "").strip()
    payload = {k: v for k, v in values.items() if v != ""}
    data, errors = validate(model, payload)
    return FormResult(values=values, data=data, errors=errors)
