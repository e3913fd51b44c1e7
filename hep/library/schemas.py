"""Input models for the library: search filters, clinic exercises, media and templates.

The choices (categories, regions, positions, equipment) are the shipped catalogue's own, so a
clinic exercise is described in the same words as a library one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from hep.content.schema import (
    BODY_REGIONS,
    CATEGORIES,
    EQUIPMENT,
    POSITIONS,
    WEEKDAYS,
    BodyRegion,
    Category,
    CptCode,
    Equipment,
    Position,
    Weekday,
)
from hep.rules.safety import CONTRAINDICATIONS

SOURCES = ("all", "library", "clinic", "archived")
Source = Literal["all", "library", "clinic", "archived"]
DosageKind = Literal["reps", "hold", "timed"]
MAX_TEMPLATE_ITEMS = 6
MEASURE_COLUMN = {"reps": "reps", "hold": "hold_seconds", "timed": "duration_seconds"}
# The amount a clinic may prescribe for each kind: reps, held seconds or timed seconds.
AMOUNT_RANGE = {"reps": (1, 30), "hold": (5, 120), "timed": (10, 3600)}

__all__ = [
    "BODY_REGIONS",
    "CATEGORIES",
    "EQUIPMENT",
    "POSITIONS",
    "SOURCES",
    "WEEKDAYS",
    "ExerciseForm",
    "LibraryQuery",
    "MediaForm",
    "TemplateForm",
    "TemplateItemForm",
]


def _lines(value: Any) -> Any:
    """A textarea becomes a list: one entry per non-empty line."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return value


def _check_lines(values: list[str], limit: int = 240) -> list[str]:
    for line in values:
        if len(line) > limit:
            raise ValueError(_("Keep each line to %(n)s characters or fewer", n=limit))
    return values


def _contraindications(values: list[str]) -> list[str]:
    if any(v not in CONTRAINDICATIONS for v in values):
        raise ValueError(_("Choose conditions from the list"))
    return [tag for tag in CONTRAINDICATIONS if tag in values]


def _equipment(values: list[str]) -> list[str]:
    if "none" in values and len(values) > 1:
        raise ValueError(_("Choose “No equipment” on its own, or the equipment needed"))
    return values


Lines = Annotated[list[str], BeforeValidator(_lines), AfterValidator(_check_lines)]
SlugOrNone = Annotated[str | None, Field(default=None, max_length=80)]


class LibraryQuery(BaseModel):
    """What a therapist searches the library for (all optional, from the URL)."""

    q: Annotated[str, Field(max_length=100, title="Search")] = ""
    category: Annotated[Category | None, Field(title="Type")] = None
    region: Annotated[BodyRegion | None, Field(title="Body area")] = None
    equipment: Annotated[Equipment | None, Field(title="Equipment")] = None
    position: Annotated[Position | None, Field(title="Position")] = None
    cpt: Annotated[CptCode | None, Field(title="CPT code")] = None
    source: Annotated[Source, Field(title="Show")] = "all"
    page: Annotated[int, Field(ge=1, le=1000, title="Page")] = 1

    def filters(self) -> dict[str, str]:
        """The non-default values, for links that keep the current search."""
        values = self.model_dump(exclude_defaults=True, exclude={"page"})
        return {k: str(v) for k, v in values.items()}


class ExerciseForm(BaseModel):
    """A clinic's own exercise: the same fields as a library one."""

    name: Annotated[str, Field(min_length=3, max_length=120, title="Name")]
    summary: Annotated[str, Field(max_length=300, title="Short description")] = ""
    category: Annotated[Category, Field(title="Type of exercise")]
    cpt_code: Annotated[CptCode, Field(title="CPT code")]
    body_region: Annotated[BodyRegion, Field(title="Body area")]
    position: Annotated[Position, Field(title="Position")]
    equipment: Annotated[
        list[Equipment], Field(min_length=1, title="Equipment"), AfterValidator(_equipment)
    ]
    steps: Annotated[Lines, Field(min_length=1, max_length=8, title="Steps")]
    cues: Annotated[Lines, Field(max_length=6, title="Tips")] = []
    mistakes: Annotated[Lines, Field(max_length=6, title="Common mistakes")] = []
    precautions: Annotated[Lines, Field(max_length=6, title="Precautions")] = []
    contraindications: Annotated[list[str], AfterValidator(_contraindications)] = []
    dosage_kind: Annotated[DosageKind, Field(title="How it is measured")]
    sets: Annotated[int, Field(ge=1, le=5, title="Sets")] = 2
    # Before amount: reps are checked against it.
    ceiling_reps: Annotated[int, Field(ge=5, le=30, title="Most reps before a harder step")] = 15
    # Reps, or seconds for a hold or a timed exercise, whichever dosage_kind says.
    amount: Annotated[int, Field(title="Amount")]
    rest_seconds: Annotated[int, Field(ge=0, le=300, title="Rest (seconds)")] = 30
    per_day: Annotated[int, Field(ge=1, le=6, title="Times a day")] = 1
    days_per_week: Annotated[int, Field(ge=1, le=7, title="Days a week")] = 3
    load_text: Annotated[str | None, Field(max_length=80, title="Load or resistance")] = None
    regression_slug: SlugOrNone = None
    progression_slug: SlugOrNone = None

    @field_validator("amount")
    @classmethod
    def _amount_fits_kind(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("dosage_kind")
        if kind is None:
            return value
        low, high = AMOUNT_RANGE[kind]
        if not low <= value <= high:
            messages = {
                "reps": _("Reps must be from %(low)s to %(high)s", low=low, high=high),
                "hold": _("Hold must be from %(low)s to %(high)s seconds", low=low, high=high),
                "timed": _("Time must be from %(low)s to %(high)s seconds", low=low, high=high),
            }
            raise ValueError(messages[kind])
        if kind == "reps" and value > info.data.get("ceiling_reps", high):
            raise ValueError(_("Reps must not be more than the most reps before a harder step"))
        return value

    def measure(self) -> dict[str, int | None]:
        """The amount under the column its kind uses (reps, hold_seconds, duration_seconds)."""
        return {
            column: (self.amount if kind == self.dosage_kind else None)
            for kind, column in MEASURE_COLUMN.items()
        }

    @field_validator("progression_slug")
    @classmethod
    def _ladder_not_same_both_ways(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("regression_slug"):
            raise ValueError(_("The easier and the harder exercise must be different"))
        return value


class MediaForm(BaseModel):
    caption: Annotated[str, Field(max_length=200, title="What it shows")] = ""


class TemplateForm(BaseModel):
    """A clinic's own program template (its exercises come as TemplateItemForm rows)."""

    name: Annotated[str, Field(min_length=3, max_length=120, title="Name")]
    condition: Annotated[str, Field(max_length=120, title="Condition")] = ""
    description: Annotated[str, Field(max_length=1000, title="Description")] = ""
    days: Annotated[list[Weekday], Field(min_length=1, title="Days")]
    times_per_day: Annotated[int, Field(ge=1, le=3, title="Times a day")] = 1
    weeks: Annotated[int, Field(ge=1, le=52, title="Weeks")] = 6
    precautions: Annotated[Lines, Field(max_length=6, title="Precautions")] = []


class TemplateItemForm(BaseModel):
    """One exercise row of a template: blank dosage fields keep the exercise's default."""

    exercise: Annotated[str, Field(min_length=1, max_length=80, title="Exercise")]
    sets: Annotated[int | None, Field(ge=1, le=5, title="Sets")] = None
    amount: Annotated[int | None, Field(ge=1, le=3600, title="Reps or seconds")] = None
