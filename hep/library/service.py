"""The exercise library in the database: the shipped catalogue synced in, search and filters,
ladders, the clinics' own exercises, their photos and videos, and program templates."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, case, cast, func, or_
from sqlmodel import Session, col, select

from hep.content.schema import WEEKDAYS, Catalogue
from hep.content.schema import Exercise as ExerciseData
from hep.library import media as media_files
from hep.library.schemas import (
    AMOUNT_RANGE,
    MEASURE_COLUMN,
    ExerciseForm,
    LibraryQuery,
    TemplateForm,
    TemplateItemForm,
)
from hep.models import Exercise, ExerciseMedia, ProgramTemplate, User


def search_text(*parts: Any) -> str:
    """Lower-case words an exercise can be found by (name, summary, region, steps...)."""
    words: list[str] = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            words.extend(str(p) for p in part)
        elif part:
            words.append(str(part))
    return " ".join(words).replace("_", " ").lower()[:4000]


# The columns an exercise is found by, in the order they appear in search_text.
SEARCHED_COLUMNS = (
    "name",
    "summary",
    "category",
    "body_region",
    "position",
    "equipment",
    "cpt_code",
    "steps",
    "cues",
)


def exercise_search_text(columns: dict[str, Any]) -> str:
    """The search_text of an exercise from its column values."""
    return search_text(*(columns[name] for name in SEARCHED_COLUMNS))


def _exercise_fields(data: ExerciseData) -> dict[str, Any]:
    dosage = data.dosage
    fields = {
        "name": data.name,
        "summary": data.summary,
        "category": data.category,
        "cpt_code": data.cpt_code,
        "body_region": data.body_region,
        "position": data.position,
        "equipment": list(data.equipment),
        "steps": list(data.steps),
        "cues": list(data.cues),
        "mistakes": list(data.mistakes),
        "precautions": list(data.precautions),
        "contraindications": list(data.contraindications),
        "dosage_kind": dosage.kind,
        "sets": dosage.sets,
        "reps": dosage.reps,
        "hold_seconds": dosage.hold_seconds,
        "duration_seconds": dosage.duration_seconds,
        "rest_seconds": dosage.rest_seconds,
        "per_day": dosage.per_day,
        "days_per_week": dosage.days_per_week,
        "load_text": dosage.load,
        "ceiling_reps": dosage.ceiling_reps,
        "progression_slug": data.progression,
        "regression_slug": data.regression,
    }
    fields["search_text"] = exercise_search_text(fields)
    return fields


def _upsert(db: Session, row: Any, model: type, slug: str, fields: dict[str, Any], now) -> bool:
    if row is None:
        db.add(model(slug=slug, clinic_id=None, **fields))
        return True
    changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
    if not changed:
        return False
    for key, value in changed.items():
        setattr(row, key, value)
    if hasattr(row, "updated_at"):
        row.updated_at = now
    db.add(row)
    return True


def sync_catalogue(db: Session, now: datetime, catalogue: Catalogue) -> dict[str, int]:
    """Make the library match the shipped files. Idempotent; clinic rows are never touched."""
    existing = {
        e.slug: e for e in db.exec(select(Exercise).where(Exercise.clinic_id.is_(None))).all()
    }
    changed = 0
    for data in catalogue.exercises:
        fields = _exercise_fields(data)
        fields["translations"] = {
            language: texts[data.slug].words()
            for language, texts in sorted(catalogue.translations.items())
            if data.slug in texts
        }
        changed += _upsert(db, existing.get(data.slug), Exercise, data.slug, fields, now)
    templates = {
        t.slug: t
        for t in db.exec(select(ProgramTemplate).where(ProgramTemplate.clinic_id.is_(None))).all()
    }
    for data in catalogue.templates:
        fields = {
            "name": data.name,
            "condition": data.condition,
            "description": data.description,
            "days": list(data.days),
            "times_per_day": data.times_per_day,
            "weeks": data.weeks,
            "precautions": list(data.precautions),
            "items": [item.model_dump(exclude_none=True) for item in data.items],
        }
        changed += _upsert(db, templates.get(data.slug), ProgramTemplate, data.slug, fields, now)
    db.flush()
    return {
        "exercises": len(catalogue.exercises),
        "templates": len(catalogue.templates),
        "changed": changed,
    }


# --- Searching the library ----------------------------------------------------------------

PAGE_SIZE = 30


def visible_to(clinic_id: int) -> Any:
    """The library's exercises and the clinic's own."""
    return or_(col(Exercise.clinic_id).is_(None), Exercise.clinic_id == clinic_id)


@dataclass(frozen=True)
class SearchResult:
    exercises: list[Exercise]
    total: int
    page: int
    pages: int


def search_exercises(db: Session, clinic_id: int, query: LibraryQuery) -> SearchResult:
    """One page of matching exercises and the number found: two queries whatever the size."""
    conditions = [visible_to(clinic_id)]
    if query.source == "archived":
        conditions += [Exercise.clinic_id == clinic_id, col(Exercise.archived_at).is_not(None)]
    else:
        conditions.append(col(Exercise.archived_at).is_(None))
    if query.source == "library":
        conditions.append(col(Exercise.clinic_id).is_(None))
    elif query.source == "clinic":
        conditions.append(Exercise.clinic_id == clinic_id)
    words = search_text(query.q).split()[:8]
    for word in words:
        conditions.append(col(Exercise.search_text).contains(word, autoescape=True))
    if query.category:
        conditions.append(Exercise.category == query.category)
    if query.region:
        conditions.append(Exercise.body_region == query.region)
    if query.position:
        conditions.append(Exercise.position == query.position)
    if query.cpt:
        conditions.append(Exercise.cpt_code == query.cpt)
    if query.equipment:
        # The JSON list as text holds each item in quotes, on SQLite and PostgreSQL alike.
        conditions.append(
            cast(Exercise.equipment, String).contains(f'"{query.equipment}"', autoescape=True)
        )

    total = db.exec(select(func.count()).select_from(Exercise).where(*conditions)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(query.page, pages)
    order = [Exercise.name, Exercise.id]
    if words:
        # Exercises whose name holds the first word come first.
        in_name = func.lower(Exercise.name).contains(words[0], autoescape=True)
        order.insert(0, case((in_name, 0), else_=1))
    exercises = db.exec(
        select(Exercise)
        .where(*conditions)
        .order_by(*order)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return SearchResult(list(exercises), total, page, pages)


# --- One exercise: its ladder and media -----------------------------------------------------


@dataclass(frozen=True)
class Rung:
    """One exercise on a ladder, as much as a link needs."""

    id: int
    slug: str
    name: str
    clinic_id: int | None
    archived: bool
    regression_slug: str | None
    progression_slug: str | None


def _rungs(db: Session, clinic_id: int) -> dict[str, Rung]:
    rows = db.exec(
        select(
            Exercise.id,
            Exercise.slug,
            Exercise.name,
            Exercise.clinic_id,
            Exercise.archived_at,
            Exercise.regression_slug,
            Exercise.progression_slug,
        ).where(visible_to(clinic_id))
    ).all()
    return {
        row.slug: Rung(
            row.id,
            row.slug,
            row.name,
            row.clinic_id,
            row.archived_at is not None,
            row.regression_slug,
            row.progression_slug,
        )
        for row in rows
    }


def _walk(rungs: dict[str, Rung], start: str | None, direction: str, stop: str) -> list[Rung]:
    """Follow regression_slug or progression_slug links from `start` (cycle-safe)."""
    steps: list[Rung] = []
    seen = {stop}
    slug = start
    while slug is not None and slug in rungs and slug not in seen:
        seen.add(slug)
        steps.append(rungs[slug])
        slug = getattr(rungs[slug], direction)
    return steps


@dataclass(frozen=True)
class Ladder:
    """The exercise's ladder, easiest first, and the clinic's own exercises that branch off it."""

    steps: list[Rung]
    current: int  # index of the exercise itself in steps
    branches: list[tuple[Rung, str]]  # (clinic exercise, "easier" | "harder")


def ladder(db: Session, clinic_id: int, exercise: Exercise) -> Ladder:
    rungs = _rungs(db, clinic_id)
    below = _walk(rungs, exercise.regression_slug, "regression_slug", exercise.slug)
    above = _walk(rungs, exercise.progression_slug, "progression_slug", exercise.slug)
    me = rungs.get(exercise.slug) or Rung(
        exercise.id,
        exercise.slug,
        exercise.name,
        exercise.clinic_id,
        exercise.archived_at is not None,
        exercise.regression_slug,
        exercise.progression_slug,
    )
    steps = [*reversed(below), me, *above]
    on_ladder = {rung.slug for rung in steps}
    branches = []
    for rung in rungs.values():
        if rung.clinic_id is None or rung.archived or rung.slug in on_ladder:
            continue
        if rung.regression_slug == exercise.slug:
            branches.append((rung, "harder"))
        elif rung.progression_slug == exercise.slug:
            branches.append((rung, "easier"))
    branches.sort(key=lambda pair: pair[0].name)
    return Ladder(steps, len(below), branches)


def media_for(
    db: Session, clinic_id: int, exercise_ids: list[int]
) -> dict[int, list[ExerciseMedia]]:
    """Photos and videos of these exercises that the clinic's users may see, oldest first."""
    if not exercise_ids:
        return {}
    rows = db.exec(
        select(ExerciseMedia)
        .where(
            col(ExerciseMedia.exercise_id).in_(exercise_ids),
            or_(col(ExerciseMedia.clinic_id).is_(None), ExerciseMedia.clinic_id == clinic_id),
        )
        .order_by(ExerciseMedia.created_at, ExerciseMedia.id)
    ).all()
    found: dict[int, list[ExerciseMedia]] = {exercise_id: [] for exercise_id in exercise_ids}
    for row in rows:
        found[row.exercise_id].append(row)
    return found


def ladder_choices(db: Session, clinic_id: int, exclude_slug: str | None = None) -> list[Rung]:
    """Exercises a clinic exercise may sit above or below, A to Z."""
    rungs = [
        rung
        for rung in _rungs(db, clinic_id).values()
        if not rung.archived and rung.slug != exclude_slug
    ]
    return sorted(rungs, key=lambda rung: rung.name.casefold())


# --- The clinic's own exercises -------------------------------------------------------------


def ladder_problems(
    db: Session, clinic_id: int, data: ExerciseForm, slug: str | None
) -> dict[str, str]:
    """Where the easier/harder links of a clinic exercise go wrong (unknown, itself, a loop)."""
    rungs = _rungs(db, clinic_id)
    problems: dict[str, str] = {}
    links = {"regression_slug": data.regression_slug, "progression_slug": data.progression_slug}
    for field, target in links.items():
        if target is None:
            continue
        current = rungs.get(slug) if slug else None
        unchanged = current is not None and getattr(current, field) == target
        if target == slug:
            problems[field] = _("An exercise cannot be easier or harder than itself")
        elif target not in rungs or (rungs[target].archived and not unchanged):
            problems[field] = _("Choose an exercise from the list")
    if problems or slug is None:
        return problems
    # A loop can only close through this exercise: walk from each link and look for it.
    if data.progression_slug and any(
        r.slug == slug for r in _walk(rungs, data.progression_slug, "progression_slug", stop="\0")
    ):
        problems["progression_slug"] = _("That would make the ladder go round in a circle")
    if data.regression_slug and any(
        r.slug == slug for r in _walk(rungs, data.regression_slug, "regression_slug", stop="\0")
    ):
        problems["regression_slug"] = _("That would make the ladder go round in a circle")
    return problems


def _clinic_slug(clinic_id: int, name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-") or "item"
    return f"clinic-{clinic_id}-{words}-{secrets.token_hex(3)}"


def _exercise_columns(data: ExerciseForm) -> dict[str, Any]:
    fields = data.model_dump(exclude={"amount"})
    fields.update(data.measure())
    fields["summary"] = data.summary.strip()
    fields["load_text"] = (data.load_text or "").strip() or None
    fields["search_text"] = exercise_search_text(fields)
    return fields


def create_exercise(db: Session, now: datetime, therapist: User, data: ExerciseForm) -> Exercise:
    exercise = Exercise(
        clinic_id=therapist.clinic_id,
        slug=_clinic_slug(therapist.clinic_id, data.name),
        created_by_id=therapist.id,
        created_at=now,
        updated_at=now,
        **_exercise_columns(data),
    )
    db.add(exercise)
    db.flush()
    return exercise


def update_exercise(db: Session, now: datetime, exercise: Exercise, data: ExerciseForm) -> Exercise:
    for key, value in _exercise_columns(data).items():
        setattr(exercise, key, value)
    exercise.updated_at = now
    db.add(exercise)
    db.flush()
    return exercise


def form_values(exercise: Exercise) -> dict[str, Any]:
    """An exercise as the edit form shows it (lists as one line each)."""
    values: dict[str, Any] = {
        name: getattr(exercise, name)
        for name in ExerciseForm.model_fields
        if hasattr(exercise, name)
    }
    for name in ("steps", "cues", "mistakes", "precautions"):
        values[name] = "\n".join(values[name])
    values["amount"] = getattr(exercise, MEASURE_COLUMN[exercise.dosage_kind])
    return {k: ("" if v is None else v) for k, v in values.items()}


def set_archived(db: Session, now: datetime, exercise: Exercise, archived: bool) -> None:
    """Archive (hide from search and new programs) or bring back a clinic exercise."""
    exercise.archived_at = now if archived else None
    exercise.updated_at = now
    db.add(exercise)


# --- Media ----------------------------------------------------------------------------------


def add_media(
    db: Session,
    now: datetime,
    therapist: User,
    exercise: Exercise,
    stored: media_files.StoredFile,
    caption: str,
) -> ExerciseMedia:
    """Record an uploaded photo or video; it belongs to the therapist's clinic."""
    row = ExerciseMedia(
        exercise_id=exercise.id,
        clinic_id=therapist.clinic_id,
        kind=stored.media_type.kind,
        content_type=stored.media_type.content_type,
        storage_name=stored.storage_name,
        size_bytes=stored.size_bytes,
        caption=caption.strip(),
        created_by_id=therapist.id,
        created_at=now,
    )
    db.add(row)
    db.flush()
    return row


def media_exercise(db: Session, media: ExerciseMedia) -> Exercise:
    """The exercise a (clinic-checked) photo or video belongs to."""
    exercise = db.get(Exercise, media.exercise_id)
    assert exercise is not None  # a foreign key
    return exercise


def delete_media(db: Session, media: ExerciseMedia) -> str:
    """Remove the row; returns the file name for the caller to delete after the commit."""
    db.delete(media)
    db.flush()
    return media.storage_name


# --- Program templates ----------------------------------------------------------------------


def templates_for(db: Session, clinic_id: int) -> list[ProgramTemplate]:
    """The clinic's own templates, then the shipped ones, each A to Z."""
    rows = db.exec(
        select(ProgramTemplate)
        .where(
            or_(col(ProgramTemplate.clinic_id).is_(None), ProgramTemplate.clinic_id == clinic_id)
        )
        .order_by(col(ProgramTemplate.clinic_id).is_(None), ProgramTemplate.name)
    ).all()
    return list(rows)


@dataclass(frozen=True)
class TemplateLine:
    exercise: Exercise | None  # None when the exercise is no longer in the library
    slug: str
    dosage: dict[str, Any]


def template_lines(db: Session, clinic_id: int, template: ProgramTemplate) -> list[TemplateLine]:
    """A template's exercises in order with their dosage (the exercise's default + overrides)."""
    slugs = [item["exercise"] for item in template.items]
    rows = db.exec(
        select(Exercise).where(col(Exercise.slug).in_(slugs), visible_to(clinic_id))
    ).all()
    by_slug = {row.slug: row for row in rows}
    lines = []
    for item in template.items:
        exercise = by_slug.get(item["exercise"])
        dosage = exercise_dosage(exercise) if exercise else {}
        dosage.update({k: v for k, v in item.items() if k != "exercise" and v is not None})
        lines.append(TemplateLine(exercise, item["exercise"], dosage))
    return lines


def exercise_dosage(exercise: Exercise) -> dict[str, Any]:
    """An exercise's default dosage, in the template item's keys."""
    return {
        "kind": exercise.dosage_kind,
        "sets": exercise.sets,
        "reps": exercise.reps,
        "hold_seconds": exercise.hold_seconds,
        "duration_seconds": exercise.duration_seconds,
        "rest_seconds": exercise.rest_seconds,
        "per_day": exercise.per_day,
        "days_per_week": exercise.days_per_week,
        "load": exercise.load_text,
    }


def template_item_rows(
    db: Session, clinic_id: int, rows: list[TemplateItemForm]
) -> tuple[list[dict[str, Any]], dict[int, dict[str, str]]]:
    """Template items from the form's rows, or per-row problems (unknown exercise, bad amount)."""
    slugs = [row.exercise for row in rows]
    found = db.exec(
        select(Exercise).where(
            col(Exercise.slug).in_(slugs),
            visible_to(clinic_id),
            col(Exercise.archived_at).is_(None),
        )
    ).all()
    by_slug = {row.slug: row for row in found}
    items: list[dict[str, Any]] = []
    problems: dict[int, dict[str, str]] = {}
    seen: set[str] = set()
    for index, row in enumerate(rows):
        exercise = by_slug.get(row.exercise)
        if exercise is None:
            problems[index] = {"exercise": _("Choose an exercise from the list")}
            continue
        if row.exercise in seen:
            problems[index] = {"exercise": _("This exercise is already in the template")}
            continue
        seen.add(row.exercise)
        item: dict[str, Any] = {"exercise": row.exercise}
        if row.sets is not None:
            item["sets"] = row.sets
        if row.amount is not None:
            low, high = AMOUNT_RANGE[exercise.dosage_kind]
            if not low <= row.amount <= high:
                unit = _("reps") if exercise.dosage_kind == "reps" else _("seconds")
                problems[index] = {
                    "amount": _(
                        "For %(name)s, enter %(low)s to %(high)s %(unit)s",
                        name=exercise.name,
                        low=low,
                        high=high,
                        unit=unit,
                    )
                }
                continue
            item[MEASURE_COLUMN[exercise.dosage_kind]] = row.amount
        items.append(item)
    return items, problems


def save_template(
    db: Session,
    now: datetime,
    therapist: User,
    data: TemplateForm,
    items: list[dict[str, Any]],
    template: ProgramTemplate | None = None,
) -> ProgramTemplate:
    """Create a clinic template, or update one of the clinic's own."""
    if template is None:
        template = ProgramTemplate(
            clinic_id=therapist.clinic_id,
            slug=_clinic_slug(therapist.clinic_id, data.name),
            created_by_id=therapist.id,
            created_at=now,
        )
    template.name = data.name
    template.condition = data.condition
    template.description = data.description
    template.days = [day for day in WEEKDAYS if day in data.days]
    template.times_per_day = data.times_per_day
    template.weeks = data.weeks
    template.precautions = list(data.precautions)
    template.items = items
    db.add(template)
    db.flush()
    return template
