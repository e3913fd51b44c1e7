"""What a library exercise and a program template must hold, checked against SPEC §5.

The models are pure pydantic (no database): the loader builds them from the TOML files, and the
`content sync` command copies them into the database.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

Category = Literal[
    "strength",
    "endurance",
    "range_of_motion",
    "flexibility",
    "balance",
    "coordination",
    "functional",
]
CptCode = Literal["97110", "97530"]
BodyRegion = Literal[
    "neck",
    "shoulder",
    "elbow_wrist_hand",
    "back",
    "hip",
    "knee",
    "ankle_foot",
    "whole_body",
]
Position = Literal[
    "standing",
    "sitting",
    "lying_on_back",
    "lying_on_front",
    "lying_on_side",
    "hands_and_knees",
    "kneeling",
    "walking",
]
Equipment = Literal[
    "none",
    "chair",
    "wall",
    "step",
    "resistance_band",
    "dumbbell",
    "ankle_weight",
    "towel",
    "ball",
    "pillow",
    "table_or_counter",
    "stick",
    "foam_pad",
]
ContraindicationTag = Literal[
    "acute_fracture",
    "severe_osteoporosis",
    "uncontrolled_cardiovascular",
    "infection_at_site",
    "significant_pain_or_instability",
]
DosageKind = Literal["reps", "hold", "timed"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

CATEGORIES: tuple[str, ...] = get_args(Category)
BODY_REGIONS: tuple[str, ...] = get_args(BodyRegion)
POSITIONS: tuple[str, ...] = get_args(Position)
EQUIPMENT: tuple[str, ...] = get_args(Equipment)
CONTRAINDICATIONS: tuple[str, ...] = get_args(ContraindicationTag)
WEEKDAYS: tuple[str, ...] = get_args(Weekday)

# The code each category is usually billed under: 97530 covers dynamic functional activities,
# balance and coordination; 97110 covers strength, endurance, range of motion and flexibility.
USUAL_CPT: dict[str, str] = {
    "strength": "97110",
    "endurance": "97110",
    "range_of_motion": "97110",
    "flexibility": "97110",
    "balance": "97530",
    "coordination": "97530",
    "functional": "97530",
}

# The one dosage field that carries the amount for each kind of dosage.
MEASURE_FIELD: dict[str, str] = {
    "reps": "reps",
    "hold": "hold_seconds",
    "timed": "duration_seconds",
}

# Exercises this gentle may ship without contraindication tags: no load, no fall risk.
GENTLE_CATEGORIES = frozenset({"range_of_motion", "flexibility", "coordination"})
SUPPORTED_POSITIONS = frozenset({"sitting", "lying_on_back", "lying_on_side"})

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_NUMBERED = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):-]?", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?]\s+\S")


# A Spanish question or exclamation opens with "¿" or "¡"; the capital letter comes after it.
_OPENING_MARKS = "¿¡"


def _sentence(text: str) -> str:
    if text != text.strip():
        raise ValueError("remove the spaces at the start or end")
    first = text[1:2] if text[:1] in _OPENING_MARKS else text[:1]
    if not first.isupper():
        raise ValueError("start with a capital letter")
    if text[-1] not in ".!?":
        raise ValueError("end with '.', '!' or '?'")
    return text


def _step(text: str) -> str:
    if _NUMBERED.match(text):
        raise ValueError("steps are numbered by their position: leave the number out of the text")
    return _sentence(text)


def _one_sentence(text: str) -> str:
    _sentence(text)
    if _SENTENCE_BREAK.search(text[:-1]):
        raise ValueError("the summary must be one sentence")
    return text


Slug = Annotated[str, Field(min_length=2, max_length=80, pattern=SLUG_PATTERN)]
Name = Annotated[str, Field(min_length=3, max_length=120)]
Sentence = Annotated[str, Field(min_length=8, max_length=240), AfterValidator(_sentence)]
Step = Annotated[str, Field(min_length=8, max_length=240), AfterValidator(_step)]
Summary = Annotated[str, Field(min_length=10, max_length=300), AfterValidator(_one_sentence)]
Steps = Annotated[list[Step], Field(min_length=3, max_length=8)]
Tips = Annotated[list[Sentence], Field(min_length=1, max_length=4)]  # cues, mistakes, precautions

Sets = Annotated[int, Field(ge=1, le=5)]
Reps = Annotated[int, Field(ge=1, le=30)]
HoldSeconds = Annotated[int, Field(ge=5, le=60)]
DurationSeconds = Annotated[int, Field(ge=10, le=3600)]
RestSeconds = Annotated[int, Field(ge=0, le=300)]
PerDay = Annotated[int, Field(ge=1, le=6)]
DaysPerWeek = Annotated[int, Field(ge=1, le=7)]
LoadText = Annotated[str, Field(min_length=2, max_length=80)]
CeilingReps = Annotated[int, Field(ge=5, le=30)]


def _no_repeats(values: list, what: str) -> None:
    repeated = [value for value, count in Counter(values).items() if count > 1]
    if repeated:
        raise ValueError(f"{what} listed more than once: {', '.join(map(str, repeated))}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dosage(_Strict):
    """The default amount: sets of reps, of held seconds (sets = repetitions) or of timed work."""

    kind: DosageKind
    sets: Sets
    reps: Reps | None = None
    hold_seconds: HoldSeconds | None = None
    duration_seconds: DurationSeconds | None = None
    rest_seconds: RestSeconds
    per_day: PerDay
    days_per_week: DaysPerWeek
    load: LoadText | None = None
    ceiling_reps: CeilingReps = 15

    @model_validator(mode="after")
    def _one_measure_for_its_kind(self) -> Dosage:
        needed = MEASURE_FIELD[self.kind]
        problems = []
        if getattr(self, needed) is None:
            problems.append(f"{needed} is required when kind is '{self.kind}'")
        for field in MEASURE_FIELD.values():
            if field != needed and getattr(self, field) is not None:
                problems.append(f"{field} must be left out when kind is '{self.kind}'")
        if self.kind == "reps" and self.reps is not None and self.reps > self.ceiling_reps:
            problems.append(f"reps ({self.reps}) is above ceiling_reps ({self.ceiling_reps})")
        if self.duration_seconds is not None and self.duration_seconds % 5:
            problems.append("duration_seconds must be a multiple of 5")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def amount(self) -> int:
        """The reps, hold seconds or duration seconds, whichever this kind uses."""
        return getattr(self, MEASURE_FIELD[self.kind])


class Exercise(_Strict):
    """One library exercise, written for the patient, with its default dosage and ladder."""

    slug: Slug
    name: Name
    summary: Summary
    category: Category
    cpt_code: CptCode
    body_region: BodyRegion
    position: Position
    equipment: Annotated[list[Equipment], Field(min_length=1, max_length=4)]
    steps: Steps
    cues: Tips
    mistakes: Tips
    dosage: Dosage
    precautions: Tips
    contraindications: Annotated[list[ContraindicationTag], Field(max_length=5)]
    progression: Slug | None = None
    regression: Slug | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Exercise:
        problems = [*self._list_problems(), *self._dosage_problems(), *self._ladder_problems()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _list_problems(self) -> list[str]:
        problems = []
        if "none" in self.equipment and len(self.equipment) > 1:
            problems.append("equipment: 'none' must stand alone")
        for name in ("equipment", "steps", "cues", "mistakes", "precautions", "contraindications"):
            try:
                _no_repeats(getattr(self, name), name)
            except ValueError as error:
                problems.append(str(error))
        if not self.contraindications and not (
            self.category in GENTLE_CATEGORIES and self.position in SUPPORTED_POSITIONS
        ):
            problems.append(
                "contraindications: only a gentle range-of-motion, flexibility or coordination "
                "exercise done sitting or lying may list none"
            )
        return problems

    def _dosage_problems(self) -> list[str]:
        """SPEC §5 dosage defaults (ACSM): stretches, strengthening and 97530 activities."""
        d = self.dosage
        problems = []
        if self.category == "flexibility":
            if d.kind != "hold":
                problems.append("dosage.kind: a stretch is held, use 'hold'")
            else:
                if not 30 <= d.hold_seconds <= 60:
                    problems.append("dosage.hold_seconds: stretches hold 30-60 seconds")
                if not 2 <= d.sets <= 4:
                    problems.append("dosage.sets: stretches repeat 2-4 times")
                if d.days_per_week != 7:
                    problems.append("dosage.days_per_week: stretches are done daily (7)")
        if self.category == "strength":
            if d.kind == "timed":
                problems.append("dosage.kind: strengthening is dosed in reps or holds")
            if d.kind == "reps":
                if not 2 <= d.sets <= 3:
                    problems.append("dosage.sets: strengthening uses 2-3 sets")
                if not 8 <= d.reps <= 12:
                    problems.append("dosage.reps: strengthening uses 8-12 reps")
            if not 2 <= d.days_per_week <= 3:
                problems.append("dosage.days_per_week: strengthening runs 2-3 days a week")
        if self.category == "endurance" and d.kind != "timed":
            problems.append("dosage.kind: endurance work is dosed in time, use 'timed'")
        if self.cpt_code == "97530" and d.kind == "reps":
            problems.append(
                "dosage.kind: 97530 activities are dosed in time, use 'timed' or 'hold'"
            )
        return problems

    def _ladder_problems(self) -> list[str]:
        problems = []
        if self.slug in (self.progression, self.regression):
            problems.append("progression/regression: an exercise cannot lead to itself")
        if self.progression is not None and self.progression == self.regression:
            problems.append("progression and regression must be different exercises")
        return problems


# The patient-facing words of an exercise: what a translation replaces, field by field.
TEXT_FIELDS = ("name", "summary", "steps", "cues", "mistakes", "precautions")
TEXT_LISTS = ("steps", "cues", "mistakes", "precautions")


class ExerciseText(_Strict):
    """An exercise's words in another language, for the exercise with the same slug.

    Same sentence rules as the English text; each list must hold as many items as the English
    one (checked by `mismatches`, which needs the English exercise).
    """

    slug: Slug
    name: Name
    summary: Summary
    steps: Steps
    cues: Tips
    mistakes: Tips
    precautions: Tips

    @model_validator(mode="after")
    def _nothing_twice(self) -> ExerciseText:
        problems = []
        for name in TEXT_LISTS:
            try:
                _no_repeats(getattr(self, name), name)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def mismatches(self, english: Exercise) -> dict[str, str]:
        """Field -> problem, for each list whose length differs from the English exercise's."""
        problems = {}
        for name in TEXT_LISTS:
            mine, theirs = len(getattr(self, name)), len(getattr(english, name))
            if mine != theirs:
                problems[name] = f"has {mine} item(s); the English exercise has {theirs}"
        return problems

    def words(self) -> dict[str, Any]:
        """The text as stored in Exercise.translations[language] (no slug)."""
        return self.model_dump(include=set(TEXT_FIELDS))


class TemplateItem(_Strict):
    """One exercise in a template, with any dosage fields that differ from its default."""

    exercise: Slug
    sets: Sets | None = None
    reps: Reps | None = None
    hold_seconds: HoldSeconds | None = None
    duration_seconds: DurationSeconds | None = None
    rest_seconds: RestSeconds | None = None
    per_day: PerDay | None = None
    days_per_week: DaysPerWeek | None = None
    load: LoadText | None = None
    ceiling_reps: CeilingReps | None = None

    def overrides(self) -> dict[str, int | str]:
        """The dosage fields this template sets, ready to merge over the exercise default."""
        return self.model_dump(exclude={"exercise"}, exclude_none=True)


class ProgramTemplate(_Strict):
    """A ready-made program for a common condition: 2-6 exercises and a schedule."""

    slug: Slug
    name: Name
    condition: Name
    description: Annotated[str, Field(min_length=20, max_length=1000)]
    items: Annotated[list[TemplateItem], Field(min_length=2, max_length=6)]
    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    times_per_day: Annotated[int, Field(ge=1, le=3)]
    weeks: Annotated[int, Field(ge=1, le=52)]
    precautions: Annotated[list[Sentence], Field(max_length=6)] = []

    @model_validator(mode="after")
    def _nothing_twice(self) -> ProgramTemplate:
        problems = []
        lists = {
            "items: exercise": [item.exercise for item in self.items],
            "days": self.days,
            "precautions": self.precautions,
        }
        for what, values in lists.items():
            try:
                _no_repeats(values, what)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True)
class Problem:
    """One thing wrong across the catalogue, pointing at the exercise or template and field."""

    kind: Literal["exercise", "template"]
    slug: str
    field: str
    message: str
    missing: str | None = None  # the exercise slug that could not be found, if that is the problem

    def __str__(self) -> str:
        return f"{self.kind} '{self.slug}', field '{self.field}': {self.message}"


def catalogue_problems(
    exercises: list[Exercise], templates: list[ProgramTemplate]
) -> list[Problem]:
    """Checks that need the whole catalogue: unique slugs, sound ladders, template items."""
    problems: list[Problem] = []
    by_slug: dict[str, Exercise] = {}
    for exercise in exercises:
        if exercise.slug in by_slug:
            problems.append(Problem("exercise", exercise.slug, "slug", "used more than once"))
        by_slug.setdefault(exercise.slug, exercise)
    names: set[str] = set()
    for exercise in exercises:
        if exercise.name.casefold() in names:
            problems.append(
                Problem("exercise", exercise.slug, "name", f"'{exercise.name}' is used twice")
            )
        names.add(exercise.name.casefold())

    mirror = {"progression": "regression", "regression": "progression"}
    for exercise in exercises:
        for field, opposite in mirror.items():
            target_slug = getattr(exercise, field)
            if target_slug is None:
                continue
            target = by_slug.get(target_slug)
            if target is None:
                problems.append(
                    Problem(
                        "exercise",
                        exercise.slug,
                        field,
                        f"no exercise '{target_slug}'",
                        missing=target_slug,
                    )
                )
            elif getattr(target, opposite) != exercise.slug:
                problems.append(
                    Problem(
                        "exercise",
                        exercise.slug,
                        field,
                        f"'{target_slug}' must name '{exercise.slug}' as its {opposite} "
                        f"(it names {getattr(target, opposite)!r})",
                    )
                )

    reported: set[frozenset[str]] = set()
    for exercise in exercises:
        path = [exercise.slug]
        current = exercise
        while current.progression in by_slug:
            current = by_slug[current.progression]
            if current.slug in path:
                loop = path[path.index(current.slug) :]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    problems.append(
                        Problem(
                            "exercise",
                            current.slug,
                            "progression",
                            "the ladder loops back on itself: "
                            + " -> ".join([*loop, current.slug]),
                        )
                    )
                break
            path.append(current.slug)

    template_slugs: set[str] = set()
    for template in templates:
        if template.slug in template_slugs:
            problems.append(Problem("template", template.slug, "slug", "used more than once"))
        template_slugs.add(template.slug)
        for index, item in enumerate(template.items):
            exercise = by_slug.get(item.exercise)
            field = f"items[{index}]"
            if exercise is None:
                problems.append(
                    Problem(
                        "template",
                        template.slug,
                        field,
                        f"no exercise '{item.exercise}'",
                        missing=item.exercise,
                    )
                )
                continue
            try:
                merge_dosage(exercise.dosage, item)
            except ValidationError as error:
                reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
                problems.append(
                    Problem(
                        "template",
                        template.slug,
                        field,
                        f"dosage does not fit '{item.exercise}': {reasons}",
                    )
                )
    return problems


def merge_dosage(default: Dosage, item: TemplateItem) -> Dosage:
    """The exercise's default dosage with the template item's overrides applied."""
    return Dosage.model_validate({**default.model_dump(), **item.overrides()})


class Catalogue(_Strict):
    """The whole shipped library: exercises and the templates built from them."""

    exercises: list[Exercise]
    templates: list[ProgramTemplate]
    # language code -> exercise slug -> its words in that language (any exercise may be missing)
    translations: dict[str, dict[str, ExerciseText]] = {}

    @model_validator(mode="after")
    def _whole_catalogue_sound(self) -> Catalogue:
        problems = catalogue_problems(self.exercises, self.templates)
        slugs = {exercise.slug for exercise in self.exercises}
        for language, texts in self.translations.items():
            problems.extend(
                f"{language}: exercise '{slug}' is not in the library"
                for slug in texts
                if slug not in slugs
            )
        if problems:
            raise ValueError("; ".join(map(str, problems)))
        return self

    def exercise(self, slug: str) -> Exercise:
        """The exercise with this slug (KeyError if there is none)."""
        for exercise in self.exercises:
            if exercise.slug == slug:
                return exercise
        raise KeyError(slug)

    def template(self, slug: str) -> ProgramTemplate:
        """The template with this slug (KeyError if there is none)."""
        for template in self.templates:
            if template.slug == slug:
                return template
        raise KeyError(slug)

    def ladder(self, slug: str) -> list[Exercise]:
        """The whole ladder the exercise sits on, easiest first."""
        by_slug = {exercise.slug: exercise for exercise in self.exercises}
        bottom = by_slug[slug]
        while bottom.regression is not None:
            bottom = by_slug[bottom.regression]
        steps = [bottom]
        while steps[-1].progression is not None:
            steps.append(by_slug[steps[-1].progression])
        return steps

    def item_dosage(self, item: TemplateItem) -> Dosage:
        """The dosage a template item prescribes: its exercise's default plus the overrides."""
        return merge_dosage(self.exercise(item.exercise).dosage, item)
