"""What a patient sends: one logged session (form or JSON) and the next-morning check-in.

`SessionSubmission` is the one model that validates a session, whether it comes from the guided
session's HTML form (through `parse_session_form`) or from the JSON API and its offline outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from flask_babel import gettext as _
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from werkzeug.datastructures import MultiDict

from hep.forms import FormResult, friendly_message
from hep.rules.safety import PAIN_MAX, PAIN_MIN, RED_FLAGS
from hep.timeutil import utcnow

MAX_SETS = 10
MAX_REPS_PER_SET = 500
# Timed items log seconds: a 10-minute walk is 600 in one "set". The service, which knows each
# item's kind, holds reps items to MAX_REPS_PER_SET.
MAX_SECONDS_PER_SET = 3600
MAX_EXERCISES = 30
FUTURE_SLACK = timedelta(minutes=10)  # phones' clocks drift
OLDEST = timedelta(days=30)  # an outbox older than this is not replayed

WarmupAnswer = Literal["none", "gone", "continues"]
RedFlagKey = Literal[tuple(flag.key for flag in RED_FLAGS)]  # type: ignore[valid-type]

# Why an exercise was skipped: keys stored, words shown (through _()).
SKIP_REASONS: dict[str, str] = {
    "pain": "It hurt too much",
    "tired": "I was too tired",
    "time": "I did not have time",
    "unsure": "I was not sure how to do it",
    "equipment": "I did not have what I needed",
    "other": "Another reason",
}
SkipReason = Literal[tuple(SKIP_REASONS)]  # type: ignore[valid-type]

# Words beside each number of the 0-10 scales (NPRS for pain; Borg CR10 / OMNI for effort).
PAIN_WORDS: tuple[str, ...] = (
    "No pain",
    "Very little pain",
    "A little pain",
    "Some pain",
    "Quite a bit of pain",
    "A lot of pain",
    "Too much pain",
    "Very bad pain",
    "Very, very bad pain",
    "Terrible pain",
    "The worst pain you can imagine",
)
EFFORT_WORDS: tuple[str, ...] = (
    "Nothing at all",
    "Very, very easy",
    "Very easy",
    "Easy",
    "Fairly easy",
    "Medium",
    "A bit hard",
    "Hard",
    "Very hard",
    "Very, very hard",
    "As hard as I can",
)

Rating = Annotated[int, Field(ge=PAIN_MIN, le=PAIN_MAX)]
SetCount = Annotated[int, Field(ge=0, le=MAX_SECONDS_PER_SET)]


class ExerciseEntry(BaseModel):
    """One exercise of the session: what was done in each set, or why it was skipped."""

    model_config = ConfigDict(extra="forbid")

    program_item_id: int = Field(ge=1, title="Exercise")
    sets_done: list[SetCount] = Field(
        default_factory=list,
        max_length=MAX_SETS,
        title="Each set",
        description=(
            "Reps (at most 500) or seconds (holds and timed exercises, at most 3600) done in "
            "each set, in order."
        ),
    )
    load: float | None = Field(default=None, ge=0, le=1000, title="Weight")
    pain_during: Rating | None = Field(default=None, title="Pain during the exercise")
    effort: Rating | None = Field(default=None, title="How hard it felt")
    skipped_reason: SkipReason | None = Field(default=None, title="Why you skipped it")

    @model_validator(mode="after")
    def _done_or_skipped(self) -> ExerciseEntry:
        if self.skipped_reason is not None:
            return self
        if not self.sets_done:
            raise ValueError("Say what you did in each set, or skip the exercise")
        if self.pain_during is None or self.effort is None:
            raise ValueError("Say how much it hurt and how hard it felt")
        return self

    @property
    def performed(self) -> bool:
        """Done, not skipped: at least one set with something in it (SPEC §5 counted session)."""
        return self.skipped_reason is None and any(n > 0 for n in self.sets_done)


class SessionSubmission(BaseModel):
    """One guided session as the patient's phone sends it.

    `client_uuid` is made when the session page is rendered (or by the phone offline), so a
    double tap, a retry or an outbox replay stores the session once. `performed_at` is the
    phone's clock: at most 10 minutes ahead of the server's and at most 30 days old (pass
    `context={"now": now}` to `model_validate` to judge against another clock).
    """

    model_config = ConfigDict(extra="forbid")

    client_uuid: UUID = Field(title="Session id")
    program_id: int = Field(ge=1, title="Program")
    performed_at: AwareDatetime = Field(title="When you exercised")
    warmup_soreness: WarmupAnswer = Field(default="none", title="Soreness in the warm-up")
    exercises: list[ExerciseEntry] = Field(default_factory=list, max_length=MAX_EXERCISES)
    pain_overall: Rating | None = Field(default=None, title="Pain overall")
    effort_overall: Rating | None = Field(default=None, title="Effort overall")
    red_flags: list[RedFlagKey] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=len(RED_FLAGS),
        title="Warning signs",
        description="Keys of the red-flag questions answered yes.",
    )
    notes: str = Field(default="", max_length=2000, title="Notes")

    @field_validator("performed_at")
    @classmethod
    def _recent(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = (info.context or {}).get("now") or utcnow()
        if value > now + FUTURE_SLACK:
            raise ValueError(
                "The time of this session is in the future. Check the date and time on your phone."
            )
        if value < now - OLDEST:
            raise ValueError("This session is more than 30 days old, so it cannot be saved.")
        return value.astimezone(UTC)

    @field_validator("red_flags")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("notes")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> SessionSubmission:
        ids = [entry.program_item_id for entry in self.exercises]
        if len(ids) != len(set(ids)):
            raise ValueError("Each exercise can be logged once in a session")
        if self.warmup_soreness == "continues" and any(e.performed for e in self.exercises):
            raise ValueError("A session stopped for soreness in the warm-up has no exercises done")
        return self

    @property
    def counted(self) -> bool:
        """At least one exercise performed (SPEC §5)."""
        return any(entry.performed for entry in self.exercises)

    @property
    def stop_reason(self) -> str | None:
        """Why the session ended early: a red flag, or soreness that went on in the warm-up."""
        if self.red_flags:
            return "red_flag"
        if self.warmup_soreness == "continues":
            return "soreness"
        return None


class CheckinSubmission(BaseModel):
    """The next-morning check-in about one session."""

    model_config = ConfigDict(extra="forbid")

    session_id: int = Field(ge=1, title="Session")
    soreness_gone: bool = Field(title="Has the soreness gone")
    pain_now: Rating = Field(title="Pain now")


# --- The guided session's HTML form -------------------------------------------------------
#
# Field names: warmup_soreness, pain_overall, effort_overall, notes, client_uuid, program_id,
# performed_at; "item" once per program item id (in order); for item N: iN-set (once per
# set), iN-load, iN-pain, iN-effort, iN-skip; and flag-<key> = yes | no for each red flag.

ENTRY_FIELD_NAMES = {
    "sets_done": "set",
    "load": "load",
    "pain_during": "pain",
    "effort": "effort",
    "skipped_reason": "skip",
}


def item_field(item_id: int | str, part: str) -> str:
    return f"i{item_id}-{part}"


def _required_choices() -> dict[str, str]:
    return {
        "warmup_soreness": _("Choose how your muscles and joints felt in the warm-up"),
        "pain": _("Choose how much it hurt, from 0 to 10"),
        "effort": _("Choose how hard it felt, from 0 to 10"),
        "flag": _("Choose yes or no"),
    }


def parse_session_form(form: MultiDict, now: datetime | None = None) -> FormResult:
    """Validate the guided session's form into a SessionSubmission, with messages per field.

    Soreness that goes on in the warm-up stops the session: what the rest of the form says
    is then ignored. A skipped exercise keeps only its reason.
    """
    values: dict[str, Any] = {key: form.getlist(key) for key in form}
    messages = _required_choices()
    errors: dict[str, str] = {}

    def one(name: str) -> str | None:
        value = (form.get(name) or "").strip()
        return value or None

    warmup = one("warmup_soreness")
    if warmup is None:
        errors["warmup_soreness"] = messages["warmup_soreness"]
    stopped = warmup == "continues"

    payload: dict[str, Any] = {
        "client_uuid": one("client_uuid"),
        "program_id": one("program_id"),
        "performed_at": one("performed_at"),
        "warmup_soreness": warmup or "none",
        "notes": form.get("notes", ""),
    }
    item_ids: list[str] = [] if stopped else list(dict.fromkeys(form.getlist("item")))
    entries: list[dict[str, Any]] = []
    for item_id in item_ids:
        skip = one(item_field(item_id, "skip"))
        entry: dict[str, Any] = {"program_item_id": item_id}
        if skip:
            entry["skipped_reason"] = skip
        else:
            entry["sets_done"] = [
                v.strip() for v in form.getlist(item_field(item_id, "set")) if v.strip()
            ]
            load = one(item_field(item_id, "load"))
            if load is not None:
                entry["load"] = load
            for key in ("pain", "effort"):
                value = one(item_field(item_id, key))
                if value is None:
                    errors[item_field(item_id, key)] = messages[key]
                else:
                    entry["pain_during" if key == "pain" else "effort"] = value
        entries.append(entry)
    payload["exercises"] = entries

    if not stopped:
        for name in ("pain_overall", "effort_overall"):
            if one(name) is not None:
                payload[name] = one(name)
        flags = []
        for flag in RED_FLAGS:
            answer = one(f"flag-{flag.key}")
            if answer not in ("yes", "no"):
                errors[f"flag-{flag.key}"] = messages["flag"]
            elif answer == "yes":
                flags.append(flag.key)
        payload["red_flags"] = flags
        if flags:
            # Red flags end the session: what is missing after them does not matter.
            errors = {k: v for k, v in errors.items() if not k.startswith("flag-")}

    payload = {k: v for k, v in payload.items() if v is not None}
    try:
        data = SessionSubmission.model_validate(payload, context={"now": now or utcnow()})
    except ValidationError as exc:
        for error in exc.errors():
            name, label = _form_name(error["loc"], item_ids)
            errors.setdefault(name, friendly_message(error, _(label)))
        data = None
    result: FormResult = FormResult(values=values, data=None if errors else data, errors=errors)
    return result


def _form_name(loc: tuple, item_ids: list[str]) -> tuple[str, str]:
    """The form field (and its label) a pydantic error location points at."""
    if not loc:
        return "__all__", "This session"
    top = str(loc[0])
    if top == "exercises" and len(loc) >= 2 and isinstance(loc[1], int) and loc[1] < len(item_ids):
        item_id = item_ids[loc[1]]
        if len(loc) >= 3 and str(loc[2]) in ENTRY_FIELD_NAMES:
            field = str(loc[2])
            info = ExerciseEntry.model_fields[field]
            return item_field(item_id, ENTRY_FIELD_NAMES[field]), info.title or field
        return item_field(item_id, "set"), "This exercise"
    if top in ("client_uuid", "program_id", "exercises"):
        return "__all__", "This session"
    info = SessionSubmission.model_fields.get(top)
    return top, (info.title if info and info.title else top)


def parse_checkin_form(form: MultiDict) -> FormResult:
    """Validate the morning check-in form (radios: soreness_gone yes/no, pain_now 0-10)."""
    values: dict[str, Any] = {key: form.getlist(key) for key in form}
    errors: dict[str, str] = {}
    gone = (form.get("soreness_gone") or "").strip()
    pain = (form.get("pain_now") or "").strip()
    if gone not in ("yes", "no"):
        errors["soreness_gone"] = _("Choose yes or no")
    if not pain:
        errors["pain_now"] = _("Choose how much pain you have now, from 0 to 10")
    data = None
    if not errors:
        payload = {"session_id": form.get("session_id"), "soreness_gone": gone, "pain_now": pain}
        try:
            data = CheckinSubmission.model_validate(payload)
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "__all__"
                info = CheckinSubmission.model_fields.get(name)
                label = info.title if info and info.title else name
                errors.setdefault(name, friendly_message(error, _(label)))
    return FormResult(values=values, data=data, errors=errors)
