"""The words of an exercise in the reader's language, for templates.

Shipped exercises carry their translations in `Exercise.translations` ({"es": {...}}, written by
`content sync`); anything missing there (a clinic's own exercise, a language not yet written)
falls back to the English columns, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale


@dataclass(frozen=True)
class ExerciseWords:
    """What a patient reads about one exercise."""

    name: str
    summary: str
    steps: list[str]
    cues: list[str]
    mistakes: list[str]
    precautions: list[str]


def exercise_text(exercise: Any, locale: str | None) -> ExerciseWords:
    """The exercise's words in `locale` ("es", "en"...) where translated, else in English."""
    language = str(locale or "en").split("_")[0].split("-")[0]
    translated = (getattr(exercise, "translations", None) or {}).get(language) or {}

    def pick(field: str) -> Any:
        return translated.get(field) or getattr(exercise, field)

    return ExerciseWords(
        name=pick("name"),
        summary=pick("summary"),
        steps=list(pick("steps")),
        cues=list(pick("cues")),
        mistakes=list(pick("mistakes")),
        precautions=list(pick("precautions")),
    )


def exercise_words(exercise: Any) -> ExerciseWords:
    """Template global: the exercise's words in the current request's language."""
    return exercise_text(exercise, str(get_locale() or "en"))
