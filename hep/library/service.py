"""The exercise library in the database: syncing the shipped catalogue into it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from hep.content.schema import Catalogue
from hep.content.schema import Exercise as ExerciseData
from hep.models import Exercise, ProgramTemplate


def search_text(*parts: Any) -> str:
    """Lower-case words an exercise can be found by (name, summary, region, steps...)."""
    words: list[str] = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            words.extend(str(p) for p in part)
        elif part:
            words.append(str(part))
    return " ".join(words).replace("_", " ").lower()[:4000]


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
    fields["search_text"] = search_text(
        data.name,
        data.summary,
        data.category,
        data.body_region,
        data.position,
        data.equipment,
        data.cpt_code,
        data.steps,
        data.cues,
    )
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
        changed += _upsert(
            db, existing.get(data.slug), Exercise, data.slug, _exercise_fields(data), now
        )
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
